//! A local S3-compatible server for tests, started on a free 127.0.0.1 port over a temp
//! folder: a bucket is a folder under [`S3Server::root`], an object a file under it, so
//! fixtures are written with `std::fs` and seen over S3 at once.
//!
//! The server is `quarry-s3-server` (`tools/s3-server`: s3s-fs from crates.io with
//! prefix-local listings and TCP_NODELAY; `.ci/run` installs it into `target/tools/bin`),
//! or the stock `s3s-fs` binary, which takes the same arguments and gives the same
//! answers, only slower. Looked for through `S3S_FS_BIN`, then `quarry-s3-server` and
//! `s3s-fs` on `PATH`, in `target/tools/bin` and in `~/quarry-peers/s3s-fs/bin`. Without
//! one the S3 tests are skipped with a message, unless `QUARRY_S3_TESTS=require` (set by
//! `.ci/run`) makes that a failure.

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
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin"));
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(Path::new(&h).join("quarry-peers/s3s-fs/bin"));
        dirs.push(Path::new(&h).join(".cargo/bin"));
    }
    ["quarry-s3-server", "s3s-fs"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

impl S3Server {
    /// Start a server with these buckets, or `None` (after saying why) when s3s-fs is
    /// found and S3 tests are not required.
    pub fn start(buckets: &[&str]) -> Option<S3Server> {
        let Some(bin) = find_binary() else {
            if std::env::var("QUARRY_S3_TESTS").is_ok_and(|v| v == "require") {
                panic!("QUARRY_S3_TESTS=require but no S3 server was found (install: cargo install --locked --path tools/s3-server --root target/tools)");
            }
            eprintln!("S3 tests skipped: no S3 server found (cargo install --locked --path tools/s3-server --root target/tools, or set S3S_FS_BIN)");
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
                "{} did not listen on port {port}",
                bin.display()
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
