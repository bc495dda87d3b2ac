//! A local S3-compatible server (s3s-fs) for tests, started on a free 127.0.0.1 port
//! over a temp folder: a bucket is a folder under [`S3Server::root`], an object a file
//! under it, so fixtures are written with `std::fs` and seen over S3 at once.
//!
//! The binary is found through `S3S_FS_BIN`, `PATH`, `target/tools/bin` (where `.ci/run`
//! installs it) or `~/quarry-peers/s3s-fs/bin`. Without it the S3 tests are skipped with
//! a message, unless `QUARRY_S3_TESTS=require` (set by `.ci/run`) makes that a failure.

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "testtest";

pub struct S3Server {
    child: Child,
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub endpoint: String,
}

fn find_binary() -> Option<PathBuf> {
    if let Ok(b) = std::env::var("S3S_FS_BIN") {
        return Some(PathBuf::from(b));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("s3s-fs"))
                .collect()
        })
        .unwrap_or_default();
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs"));
    if let Some(h) = std::env::var_os("HOME") {
        candidates.push(Path::new(&h).join("quarry-peers/s3s-fs/bin/s3s-fs"));
        candidates.push(Path::new(&h).join(".cargo/bin/s3s-fs"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

impl S3Server {
    /// Start a server with these buckets, or `None` (after saying why) when s3s-fs is
    /// not installed and S3 tests are not required.
    pub fn start(buckets: &[&str]) -> Option<S3Server> {
        let Some(bin) = find_binary() else {
            if std::env::var("QUARRY_S3_TESTS").is_ok_and(|v| v == "require") {
                panic!("QUARRY_S3_TESTS=require but s3s-fs was not found (install: cargo install s3s-fs@0.14.1 --features binary --locked)");
            }
            eprintln!("S3 tests skipped: s3s-fs not found (cargo install s3s-fs@0.14.1 --features binary --locked, or set S3S_FS_BIN)");
            return None;
        };
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("s3");
        for b in buckets {
            std::fs::create_dir_all(root.join(b)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ])
            .arg(&root)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let server = S3Server {
            child,
            _tmp: tmp,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "s3s-fs did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// The folder holding a bucket's objects.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// Statements that point a session at this server.
    pub fn setup_sql(&self) -> Vec<String> {
        vec![
            format!("SET quarry.s3.endpoint = {}", self.endpoint),
            format!("SET quarry.s3.access_key_id = {ACCESS_KEY}"),
            format!("SET quarry.s3.secret_access_key = {SECRET_KEY}"),
            "SET quarry.s3.region = us-east-1".to_string(),
        ]
    }

    /// Environment variables that point the `quarry` binary at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
