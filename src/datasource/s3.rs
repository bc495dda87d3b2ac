//! S3 configuration, credentials and errors.
//!
//! Settings come from, lowest precedence first: the standard AWS environment variables,
//! the default catalog file's `[s3]` table, and the session (`SET quarry.s3.<key> = ...`).
//! Credentials: explicit keys from the most specific of those places; otherwise the AWS
//! SDK for Rust's default credential chain (profiles in `~/.aws/config` and
//! `~/.aws/credentials` including SSO and `credential_process`, web identity, container
//! and instance metadata), as datafusion-cli does. Secrets are never printed: not by
//! `SET`, not in errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::{BackoffConfig, ClientOptions, CredentialProvider, ObjectStore, RetryConfig};

use super::location::Location;
use crate::error::{QuarryError, Result};

/// The keys of an S3 configuration (`quarry.s3.<key>` in a session, `<key>` in a catalog
/// file's `[s3]` table).
pub const S3_KEYS: &[(&str, &str)] = &[
    ("endpoint", "S3 endpoint URL, e.g. http://127.0.0.1:9000 (AWS_ENDPOINT_URL)"),
    ("region", "AWS region (AWS_REGION, AWS_DEFAULT_REGION)"),
    ("access_key_id", "access key id (AWS_ACCESS_KEY_ID)"),
    ("secret_access_key", "secret access key (AWS_SECRET_ACCESS_KEY); never printed"),
    ("session_token", "session token (AWS_SESSION_TOKEN); never printed"),
    ("profile", "profile of ~/.aws/config to take credentials and region from (AWS_PROFILE)"),
    ("path_style", "true: http://endpoint/bucket/key requests, false: virtual-hosted (default true)"),
    ("allow_http", "true to allow a plain-HTTP endpoint (AWS_ALLOW_HTTP); default true for 127.0.0.1 and localhost"),
];

/// Keys whose values are secrets: Spark's default `spark.redaction.regex`,
/// `(?i)secret|password|token|access[.]?key` (so `secret_access_key`, `session_token`,
/// a JDBC-style `password`, `fs.s3a.access.key`).
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "access.key", "accesskey"]
        .iter()
        .any(|w| k.contains(w))
}

/// A setting's or option's value as Quarry shows it (SET, SHOW CREATE TABLE, DESCRIBE
/// EXTENDED's properties): redacted
/// where the key [`is_secret`], as Spark's `*********(redacted)`.
pub fn shown_value<'a>(key: &str, value: &'a str) -> &'a str {
    if is_secret(key) {
        "*********(redacted)"
    } else {
        value
    }
}

/// One layer of S3 settings (`key -> value`) and where it came from ("environment",
/// "catalog file spark_catalog.toml", "session settings").
#[derive(Clone, Debug, Default)]
pub struct S3Layer {
    pub source: String,
    pub values: BTreeMap<String, String>,
}

impl S3Layer {
    /// The standard AWS environment variables.
    pub fn from_env() -> S3Layer {
        let mut values = BTreeMap::new();
        let env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let pairs: [(&str, &[&str]); 7] = [
            (
                "endpoint",
                &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"],
            ),
            ("region", &["AWS_REGION", "AWS_DEFAULT_REGION"]),
            ("access_key_id", &["AWS_ACCESS_KEY_ID"]),
            ("secret_access_key", &["AWS_SECRET_ACCESS_KEY"]),
            ("session_token", &["AWS_SESSION_TOKEN"]),
            ("profile", &["AWS_PROFILE"]),
            ("allow_http", &["AWS_ALLOW_HTTP"]),
        ];
        for (k, names) in pairs {
            if let Some(v) = env(names) {
                values.insert(k.to_string(), v);
            }
        }
        if let Some(v) = env(&["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"]) {
            values.insert(
                "path_style".into(),
                (!v.eq_ignore_ascii_case("true")).to_string(),
            );
        }
        S3Layer {
            source: "environment (AWS_* variables)".into(),
            values,
        }
    }

    /// Check a key and its value. Errors name the key and list the valid ones.
    pub fn validate(key: &str, value: &str) -> Result<()> {
        if !S3_KEYS.iter().any(|(k, _)| *k == key) {
            let keys: Vec<&str> = S3_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(QuarryError::Analysis(format!(
                "unknown S3 setting '{key}' (settings: {})",
                keys.join(", ")
            )));
        }
        if matches!(key, "path_style" | "allow_http")
            && !matches!(value.to_ascii_lowercase().as_str(), "true" | "false")
        {
            return Err(QuarryError::Analysis(format!(
                "S3 setting {key} must be true or false, got '{value}'"
            )));
        }
        if key == "endpoint" && !(value.starts_with("http://") || value.starts_with("https://")) {
            return Err(QuarryError::Analysis(format!(
                "S3 endpoint must be an http:// or https:// URL, got '{value}'"
            )));
        }
        Ok(())
    }
}

/// The effective settings: the layers merged, most specific last.
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    values: BTreeMap<String, (String, String)>,
}

impl S3Config {
    pub fn merge(layers: &[&S3Layer]) -> S3Config {
        let mut values = BTreeMap::new();
        for l in layers {
            for (k, v) in &l.values {
                values.insert(k.clone(), (v.clone(), l.source.clone()));
            }
        }
        S3Config { values }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn endpoint(&self) -> Option<&str> {
        self.get("endpoint")
    }
}

/// A built client for one bucket, and where its credentials came from (for errors).
#[derive(Clone, Debug)]
pub struct S3Client {
    pub store: Arc<dyn ObjectStore>,
    pub credential_source: String,
    pub endpoint: String,
    pub region: String,
}

/// Credentials from the AWS SDK's chain, for object_store's signer.
#[derive(Debug)]
struct SdkCredentials(SharedCredentialsProvider);

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;
    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let c = self.0.provide_credentials().await.map_err(|e| object_store::Error::Generic {
            store: "S3",
            source: format!("no AWS credentials: {}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or quarry.s3.access_key_id", one_line(&e.to_string())).into(),
        })?;
        Ok(Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(|s| s.to_string()),
        }))
    }
}

/// Build the client for `bucket`. Runs inside the storage runtime (the SDK chain is async).
pub async fn build_client(cfg: &S3Config, bucket: &str) -> Result<S3Client> {
    let mut b = AmazonS3Builder::new().with_bucket_name(bucket);
    let endpoint = cfg
        .get("endpoint")
        .map(|s| s.trim_end_matches('/').to_string());
    let local = endpoint.as_deref().is_some_and(|e| {
        e.starts_with("http://127.0.0.1")
            || e.starts_with("http://localhost")
            || e.starts_with("http://[::1]")
    });
    let allow_http = cfg.flag("allow_http").unwrap_or(local);
    if let Some(e) = &endpoint {
        if e.starts_with("http://") && !allow_http {
            return Err(QuarryError::Analysis(format!(
                "S3 endpoint {e} is plain HTTP: set allow_http (AWS_ALLOW_HTTP=true, SET quarry.s3.allow_http = true, or allow_http = true in the catalog file)"
            )));
        }
        b = b.with_endpoint(e.clone());
    }
    b = b.with_virtual_hosted_style_request(!cfg.flag("path_style").unwrap_or(true));
    let options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60));
    b = b.with_client_options(options);
    b = b.with_retry(RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
    });
    let mut region = cfg.get("region").map(|s| s.to_string());
    let credential_source = match (
        cfg.values.get("access_key_id"),
        cfg.values.get("secret_access_key"),
    ) {
        (Some((id, src)), Some((secret, _))) => {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = cfg.get("session_token") {
                b = b.with_token(t);
            }
            src.clone()
        }
        (Some((_, src)), None) | (None, Some((_, src))) => {
            return Err(QuarryError::Analysis(format!("S3 credentials from {src} are incomplete: set both access_key_id and secret_access_key")));
        }
        (None, None) => {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            let profile = cfg.get("profile").map(|s| s.to_string());
            if let Some(p) = &profile {
                loader = loader.profile_name(p);
            }
            let sdk = loader.load().await;
            if region.is_none() {
                region = sdk.region().map(|r| r.to_string());
            }
            match sdk.credentials_provider() {
                Some(p) => b = b.with_credentials(Arc::new(SdkCredentials(p))),
                None => b = b.with_skip_signature(true),
            }
            format!(
                "the AWS SDK credential chain (profile '{}')",
                profile.unwrap_or_else(|| "default".into())
            )
        }
    };
    let region = region.unwrap_or_else(|| "us-east-1".to_string());
    b = b.with_region(&region);
    let store = b.build().map_err(|e| {
        QuarryError::Analysis(format!(
            "cannot configure S3 for bucket {bucket}: {}",
            one_line(&e.to_string())
        ))
    })?;
    Ok(S3Client {
        store: Arc::new(store),
        credential_source,
        endpoint: endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com")),
        region,
    })
}

/// The first line of a message, without the request URL's query string.
fn one_line(s: &str) -> String {
    s.lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A one-line error for an S3 failure of `op` ("list", "read", "write") on `loc`, naming
/// the object, the credential source and the likely fix.
pub fn s3_error(
    e: object_store::Error,
    op: &str,
    loc: &Location,
    client: &S3Client,
) -> QuarryError {
    let bucket = match loc {
        Location::S3 { bucket, .. } => bucket.as_str(),
        Location::Local(_) => "",
    };
    let text = one_line(&e.to_string());
    // the Debug form carries the transport's error kind and the status code
    let detail = format!("{e:?}")
        .to_ascii_lowercase()
        .replace("retry_timeout", "");
    let lower = text.to_ascii_lowercase();
    let has = |needles: &[&str]| {
        needles
            .iter()
            .any(|n| detail.contains(n) || lower.contains(n))
    };
    let not_found = matches!(e, object_store::Error::NotFound { .. }) || has(&["404 not found"]);
    let denied = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || has(&["403 forbidden", "401 unauthorized"]);
    if has(&["no aws credentials"]) {
        return QuarryError::Data(format!(
            "cannot {op} {loc}: {}",
            text.trim_start_matches("Generic S3 error: ")
        ));
    }
    if has(&[
        "kind: connect",
        "connectionrefused",
        "connection refused",
        "dns error",
        "failed to lookup address",
    ]) {
        return QuarryError::Data(format!(
            "cannot {op} {loc}: S3 endpoint {} is unreachable; check AWS_ENDPOINT_URL / quarry.s3.endpoint and that the server is running",
            client.endpoint
        ));
    }
    if has(&[
        "kind: timeout",
        "timed out",
        "operation timed out",
        "deadline has elapsed",
    ]) {
        return QuarryError::Data(format!("cannot {op} {loc}: the request to {} timed out (after retries); check the network or the endpoint", client.endpoint));
    }
    if has(&[
        "permanentredirect",
        "authorizationheadermalformed",
        "received redirect",
        "301 moved permanently",
    ]) {
        return QuarryError::Data(format!(
            "cannot {op} {loc}: bucket '{bucket}' is not in region {}: set the bucket's region (AWS_REGION, SET quarry.s3.region = '...', or region in the catalog file)",
            client.region
        ));
    }
    if not_found && has(&["nosuchbucket"]) {
        return QuarryError::Data(format!(
            "S3 bucket '{bucket}' does not exist at {} (while trying to {op} {loc}): check the bucket name and the endpoint/region",
            client.endpoint
        ));
    }
    if not_found {
        return QuarryError::path_not_found(loc);
    }
    if denied {
        let why = if has(&["signaturedoesnotmatch"]) {
            "the secret access key does not match the key id"
        } else if has(&["invalidaccesskeyid"]) {
            "the access key id is not known to the server"
        } else if has(&["expiredtoken", "expired"]) {
            "the credentials have expired"
        } else {
            "the credentials are not allowed to access it"
        };
        return QuarryError::Data(format!(
            "access denied (403) to {op} {loc} (bucket '{bucket}'): {why}; credentials from {}. Check the keys or pick another profile (AWS_PROFILE, quarry.s3.profile)",
            client.credential_source
        ));
    }
    QuarryError::Data(format!("cannot {op} {loc}: S3 error: {text}"))
}
