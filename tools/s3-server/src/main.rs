//! `quarry-s3-server`: the local S3-compatible server Quarry's S3 tests and benchmarks
//! start on 127.0.0.1. It is s3s-fs 0.14.1 (crates.io; a bucket is a folder, an object a
//! file) with changes that make it answer like S3 rather than like a folder walk:
//!
//! 1. `ListObjectsV2` / `ListObjects` with delimiter `/` (or none) read only the folder
//!    the prefix names (and, without a delimiter, the folders under it). s3s-fs 0.14.1
//!    walks the bucket from its root on every request, so one listing of a partition
//!    folder costs as much as a listing of the whole table (about 2 ms of CPU per request
//!    with 1,000 sibling folders: 1,000 such listings kept both cores busy for a second).
//!    Answers are the same as S3's: keys in byte order, a folder is a common prefix only
//!    when it holds at least one object, `start-after` / continuation tokens / `max-keys`
//!    as ListObjectsV2 documents. Other delimiters are answered by s3s-fs itself.
//! 2. `GetObject` bodies up to 64 MiB are read with one `pread` of the range s3s-fs
//!    resolved; s3s-fs streams them in 4 KiB reads, each a blocking-pool task, which took
//!    0.4 s of CPU for a 100 MiB scan (as much as the client's parquet decoding).
//!    Headers, ranges, ETag and errors are still s3s-fs's.
//! 3. Accepted connections set `TCP_NODELAY`. s3s-fs does not, and its responses leave in
//!    more than one write, so each small GET waited out the client's delayed ACK (about
//!    40 ms on Linux) before its body left.
//!
//! 4. `HeadObject` / `GetObject` of a key that is a folder on disk (left behind when its
//!    last object was deleted) answer `NoSuchKey`, as S3 does for a key with no object;
//!    s3s-fs answered 500 (it opened the folder as a file).
//!
//! Everything else (PUT, multipart upload, copy, delete, SigV4) is s3s-fs's own code. Same command line as s3s-fs:
//! `quarry-s3-server --host 127.0.0.1 --port 9000 --access-key K --secret-key S ROOT`.

use std::path::{Component, Path, PathBuf};

use clap::Parser;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Local S3-compatible test server (s3s-fs with prefix-local listings and TCP_NODELAY)"
)]
struct Opt {
    /// Host name to listen on.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// Port number to listen on.
    #[arg(long, default_value = "9000")]
    port: u16,
    /// Access key used for authentication (with --secret-key).
    #[arg(long, requires = "secret_key")]
    access_key: Option<String>,
    /// Secret key used for authentication (with --access-key).
    #[arg(long, requires = "access_key")]
    secret_key: Option<String>,
    /// Root directory of stored data: one folder per bucket.
    root: PathBuf,
}

/// s3s-fs's [`FileSystem`] with its own listings.
struct Server {
    fs: FileSystem,
    /// The canonical root folder (buckets are its sub-folders).
    root: PathBuf,
}

/// One listing entry: an object (key, size in bytes, modification time) or a common prefix.
enum Entry {
    Object(String, u64, std::time::SystemTime),
    Prefix(String),
}

impl Entry {
    fn key(&self) -> &str {
        match self {
            Entry::Object(k, ..) | Entry::Prefix(k) => k,
        }
    }
}

/// Largest GET body read in one piece (bytes); larger ones stream as s3s-fs streams them.
const WHOLE_READ_MAX: usize = 64 << 20;

/// The file holding `bucket`/`key`, or `None` for a name that would leave the bucket.
fn object_path(root: &Path, bucket: &str, key: &str) -> Option<PathBuf> {
    (!bucket.is_empty()
        && !key.is_empty()
        && !bucket.contains('/')
        && is_below(bucket)
        && is_below(key))
    .then(|| root.join(bucket).join(key))
}

/// Whether relative path `p` names something below its base: plain names only, no `..`,
/// `.` or root.
fn is_below(p: &str) -> bool {
    Path::new(p)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
}

/// s3s-fs's own temporary files (`.tmp.N.internal.part`), never objects.
fn is_internal(name: &str) -> bool {
    name.starts_with(".tmp.") && name.ends_with(".internal.part")
}

/// Whether `dir` holds an object at any depth (S3 has no empty folders).
fn holds_object(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_file() && !e.file_name().to_str().is_some_and(is_internal) {
                return true;
            }
            if t.is_dir() {
                stack.push(e.path());
            }
        }
    }
    false
}

/// The entries of folder `dir` (whose keys start with `key_dir`) whose names start with
/// `name_prefix`: its objects, and its sub-folders as common prefixes (`delimited`, only
/// those holding an object) or walked for their objects (else).
fn collect(
    dir: &Path,
    key_dir: &str,
    name_prefix: &str,
    delimited: bool,
    out: &mut Vec<Entry>,
) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !name.starts_with(name_prefix) || is_internal(&name) {
            continue;
        }
        let t = e.file_type()?;
        if t.is_dir() {
            let sub = format!("{key_dir}{name}/");
            if !delimited {
                collect(&e.path(), &sub, "", false, out)?;
            } else if holds_object(&e.path()) {
                out.push(Entry::Prefix(sub));
            }
        } else if t.is_file() {
            let m = e.metadata()?;
            out.push(Entry::Object(
                format!("{key_dir}{name}"),
                m.len(),
                m.modified()?,
            ));
        }
    }
    Ok(())
}

/// The entries of one listing of `bucket_root`, sorted by key: with `delimited`, the
/// objects directly in the prefix's folder and its sub-folders as common prefixes;
/// without, every object under the prefix.
fn list(bucket_root: &Path, prefix: &str, delimited: bool) -> std::io::Result<Vec<Entry>> {
    let (key_dir, name_prefix) = match prefix.rfind('/') {
        Some(i) => prefix.split_at(i + 1),
        None => ("", prefix),
    };
    // keys are paths below the bucket: a prefix leaving it lists nothing
    if !is_below(key_dir) {
        return Ok(vec![]);
    }
    let dir = bucket_root.join(key_dir);
    if !dir.is_dir() {
        return Ok(vec![]);
    }
    let mut out = vec![];
    collect(&dir, key_dir, name_prefix, delimited, &mut out)?;
    out.sort_by(|a, b| a.key().cmp(b.key()));
    Ok(out)
}

/// `impl S3 for Server`: the operations listed under `forward` go to s3s-fs unchanged,
/// the rest are written out (one macro around the whole impl, so that `async_trait`
/// sees the forwarded methods expanded).
macro_rules! s3_impl {
    (forward { $($op:ident: $input:ty => $output:ty;)* } $($own:tt)*) => {
        #[async_trait::async_trait]
        impl S3 for Server {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$op(req).await
                }
            )*
            $($own)*
        }
    };
}

s3_impl! {
    forward {
        create_bucket: CreateBucketInput => CreateBucketOutput;
        copy_object: CopyObjectInput => CopyObjectOutput;
        delete_bucket: DeleteBucketInput => DeleteBucketOutput;
        delete_object: DeleteObjectInput => DeleteObjectOutput;
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput;
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput;
        head_bucket: HeadBucketInput => HeadBucketOutput;
        list_buckets: ListBucketsInput => ListBucketsOutput;
        put_object: PutObjectInput => PutObjectOutput;
        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput;
        upload_part: UploadPartInput => UploadPartOutput;
        upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput;
        list_parts: ListPartsInput => ListPartsOutput;
        complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput;
        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput;
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        if object_path(&self.root, &req.input.bucket, &req.input.key).is_some_and(|p| p.is_dir()) {
            return Err(s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let path = object_path(&self.root, &req.input.bucket, &req.input.key);
        if path.as_ref().is_some_and(|p| p.is_dir()) {
            return Err(s3_error!(NoSuchKey));
        }
        let mut resp = self.fs.get_object(req).await?;
        let len = resp.output.content_length.and_then(|l| usize::try_from(l).ok());
        if let (Some(path), Some(len)) = (path, len.filter(|l| *l <= WHOLE_READ_MAX)) {
            // the byte range s3s-fs resolved: "bytes FIRST-LAST/SIZE", or the whole object
            let start = match resp.output.content_range.as_deref() {
                None => 0,
                Some(r) => r
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|f| f.parse::<u64>().ok())
                    .ok_or_else(|| s3_error!(InternalError, "unexpected content range {r}"))?,
            };
            let data = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0; len];
                std::fs::File::open(path)?.read_exact_at(&mut buf, start)?;
                Ok(buf)
            })
            .await
            .map_err(|e| s3_error!(InternalError, "read task failed: {e}"))?
            .map_err(|e| s3_error!(InternalError, "read failed: {e}"))?;
            resp.output.body = Some(StreamingBlob::from(s3s::Body::from(data)));
        }
        Ok(resp)
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let v2 = self.list_objects_v2(req.map_input(Into::into)).await?;
        Ok(v2.map_output(|v2| ListObjectsOutput {
            contents: v2.contents,
            common_prefixes: v2.common_prefixes,
            delimiter: v2.delimiter,
            encoding_type: v2.encoding_type,
            name: v2.name,
            prefix: v2.prefix,
            max_keys: v2.max_keys,
            is_truncated: v2.is_truncated,
            next_marker: v2.next_continuation_token,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let delimited = match req.input.delimiter.as_deref() {
            None => false,
            Some("/") => true,
            Some(_) => return self.fs.list_objects_v2(req).await,
        };
        let input = req.input;
        let bucket = input.bucket.as_str();
        if bucket.is_empty() || bucket.contains('/') || bucket.starts_with('.') {
            return Err(s3_error!(InvalidBucketName));
        }
        let bucket_root = self.root.join(bucket);
        if !bucket_root.is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        let prefix = input.prefix.as_deref().unwrap_or("").trim_start_matches('/').to_owned();
        // read on the async worker: a folder's listing takes tens of microseconds, less
        // than a hand-off to the blocking pool costs
        let mut entries = list(&bucket_root, &prefix, delimited)
            .map_err(|e| s3_error!(InternalError, "listing failed: {e}"))?;
        let marker = match (input.continuation_token.as_deref(), input.start_after.as_deref()) {
            (Some(ct), Some(sa)) => Some(ct.max(sa).to_owned()),
            (Some(m), None) | (None, Some(m)) => Some(m.to_owned()),
            (None, None) => None,
        };
        if let Some(m) = &marker {
            entries.retain(|e| e.key() > m.as_str());
        }
        let max_keys = input.max_keys.unwrap_or(1000);
        let limit = usize::try_from(max_keys).unwrap_or(1000);
        let is_truncated = entries.len() > limit;
        entries.truncate(limit);
        let next = if is_truncated { entries.last().map(|e| e.key().to_owned()) } else { None };
        let (mut contents, mut prefixes) = (vec![], vec![]);
        for e in entries {
            match e {
                Entry::Object(key, size, modified) => contents.push(Object {
                    key: Some(key),
                    size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
                    last_modified: Some(Timestamp::from(modified)),
                    ..Default::default()
                }),
                Entry::Prefix(p) => prefixes.push(CommonPrefix { prefix: Some(p) }),
            }
        }
        let key_count = i32::try_from(contents.len() + prefixes.len()).unwrap_or(i32::MAX);
        Ok(S3Response::new(ListObjectsV2Output {
            key_count: Some(key_count),
            max_keys: Some(max_keys),
            is_truncated: Some(is_truncated),
            contents: (!contents.is_empty()).then_some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            delimiter: input.delimiter,
            encoding_type: input.encoding_type,
            name: Some(input.bucket),
            prefix: input.prefix,
            start_after: input.start_after,
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opt = Opt::parse();
    let root = std::fs::canonicalize(&opt.root)?;
    let fs = FileSystem::new(&root).map_err(|e| format!("{}: {e:?}", root.display()))?;
    let service = {
        let mut b = S3ServiceBuilder::new(Server { fs, root });
        if let (Some(ak), Some(sk)) = (opt.access_key, opt.secret_key) {
            b.set_auth(SimpleAuth::from_single(ak, sk));
        }
        b.build()
    };
    let listener = TcpListener::bind((opt.host.as_str(), opt.port)).await?;
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("quarry-s3-server: accept failed: {e}");
                continue;
            }
        };
        // s3s-fs writes a response's head and body separately: without this, a small
        // body waits for the client's delayed ACK
        let _ = socket.set_nodelay(true);
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
