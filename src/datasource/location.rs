//! Where data lives: a local path or an S3 object key (`s3://bucket/key`).
//!
//! Locations are what tables, partitions and listings carry; [`super::store::Storage`]
//! turns them into file operations. A location prints as users wrote it (`s3://b/k` or
//! the absolute local path), which is also how the metastore keeps it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{QuarryError, Result};

/// A file or folder: local (absolute path) or S3 (`bucket`, `key` without leading or
/// trailing `/`; the empty key is the bucket's root).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl Location {
    /// Parse a user-given location: `s3://` (also `s3a://`, `s3n://`, as Hadoop writes
    /// them) is S3; `file:` / `file://` and plain paths are local, `~/` expanded and
    /// made absolute against the current folder. Keys are kept as written (S3 keys are
    /// raw: `tz=America%2FNew_York` stays encoded).
    /// Errors: an S3 location without a bucket, a relative path when the current folder is unknown.
    pub fn parse(loc: &str) -> Result<Location> {
        let l = loc.trim();
        for scheme in ["s3://", "s3a://", "s3n://"] {
            if l.len() >= scheme.len() && l[..scheme.len()].eq_ignore_ascii_case(scheme) {
                let rest = &l[scheme.len()..];
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(QuarryError::Analysis(format!(
                        "invalid S3 location '{l}': expected s3://bucket/prefix"
                    )));
                }
                return Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    key: key.trim_matches('/').to_string(),
                });
            }
        }
        if let Some((scheme, _)) = l.split_once("://") {
            if scheme != "file"
                && !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(QuarryError::NotSupported(format!("the {scheme}:// scheme in '{l}'; locations are local paths or s3://bucket/prefix")));
            }
        }
        let l = l
            .strip_prefix("file://")
            .or_else(|| l.strip_prefix("file:"))
            .unwrap_or(l);
        let p = match l.strip_prefix("~/") {
            Some(rest) => dirs::home_dir()
                .map(|h| h.join(rest))
                .unwrap_or_else(|| PathBuf::from(l)),
            None => PathBuf::from(l),
        };
        if p.is_absolute() {
            Ok(Location::Local(p))
        } else {
            std::env::current_dir()
                .map(|d| Location::Local(d.join(&p)))
                .map_err(|e| QuarryError::Data(format!("cannot resolve path {l}: {e}")))
        }
    }

    /// The child `name` (one or more `/`-separated segments) of this folder.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::S3 { bucket, key } if key.is_empty() => Location::S3 {
                bucket: bucket.clone(),
                key: name.trim_matches('/').to_string(),
            },
            Location::S3 { bucket, key } => Location::S3 {
                bucket: bucket.clone(),
                key: format!("{key}/{}", name.trim_matches('/')),
            },
        }
    }

    /// The last segment (file or folder name); empty for a bucket root.
    pub fn name(&self) -> String {
        match self {
            Location::Local(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Location::S3 { key, .. } => key.rsplit('/').next().unwrap_or("").to_string(),
        }
    }

    /// The local path, when this is a local location.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            Location::S3 { .. } => None,
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }

    /// Whether `self` is `other` or lies under it.
    pub fn starts_with(&self, other: &Location) -> bool {
        match (self, other) {
            (Location::Local(a), Location::Local(b)) => a.starts_with(b),
            (Location::S3 { bucket: a, key: ka }, Location::S3 { bucket: b, key: kb }) => {
                a == b && (kb.is_empty() || ka == kb || ka.starts_with(&format!("{kb}/")))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } if key.is_empty() => write!(f, "s3://{bucket}/"),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_local() {
        assert_eq!(
            Location::parse("s3://lake/top_tracks/").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: "top_tracks".into()
            }
        );
        assert_eq!(
            Location::parse("S3A://lake").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: "".into()
            }
        );
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local(PathBuf::from("/tmp/x"))
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("gs://b/x").is_err());
        let l = Location::parse("s3://lake/t")
            .unwrap()
            .join("dt=2021-10-05");
        assert_eq!(l.to_string(), "s3://lake/t/dt=2021-10-05");
        assert_eq!(l.name(), "dt=2021-10-05");
        assert!(l.starts_with(&Location::parse("s3://lake/t").unwrap()));
        assert!(!Location::parse("s3://lake/tt")
            .unwrap()
            .starts_with(&Location::parse("s3://lake/t").unwrap()));
        assert_eq!(
            Location::parse("s3://lake/").unwrap().join("a").to_string(),
            "s3://lake/a"
        );
    }
}
