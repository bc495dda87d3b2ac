#!/usr/bin/env python3
"""Partition discovery and scans on a local S3 server, against local disk.

Builds a Hive-partitioned table of 1,000 x 10 partitions (`d=0000/h=0/part-0.parquet`,
one small file each, hard links of one file) in a bucket of a fresh local S3 server, then times,
each with the `quarry` binary in a fresh process (process start included, ~20 ms):
  1. MSCK REPAIR TABLE over the 10,000 partitions (by default it registers them and
     leaves their statistics to the scans that read them; and with the statistics of
     all 10,000 read at MSCK: quarry.stats.autogather.maxpartitions = 100000),
  2. a second MSCK after 10 new partitions appear,
  3. a query pruned to one partition (EXPLAIN ANALYZE shows the S3 requests),
  4. a full scan of a larger file set from S3 and from local disk (throughput ratio).

    python3 benches/s3_partitions.py [--quarry target/release/quarry] [--runs 3] [--server BIN]

The server is the tests' `quarry-s3-server` (tools/s3-server: s3s-fs with listings that
read only the prefix's folder, as S3 answers them, and TCP_NODELAY; `cargo install --locked
--path tools/s3-server --root target/tools`), else the stock s3s-fs (`cargo install
s3s-fs@0.14.1 --features binary --locked`; every listing walks the bucket from its root, so
MSCK measures that walk: pass `--server` its path to compare). Found through --server,
S3S_FS_BIN, PATH, target/tools/bin or ~/quarry-peers/s3s-fs/bin.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def find_server():
    if os.environ.get("S3S_FS_BIN"):
        return os.environ["S3S_FS_BIN"]
    for name in ["quarry-s3-server", "s3s-fs"]:
        for c in [shutil.which(name), REPO / "target/tools/bin" / name, Path.home() / "quarry-peers/s3s-fs/bin" / name]:
            if c and Path(c).is_file():
                return str(c)
    sys.exit("no S3 server found: cargo install --locked --path tools/s3-server --root target/tools")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(quarry, home, env, sql):
    t = time.perf_counter()
    p = subprocess.run([quarry, "--home", str(home), "--format", "csv", "-e", sql], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {sql}\n{p.stderr}")
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quarry", default=str(REPO / "target/release/quarry"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--server", help="S3 server binary (s3s-fs's command line)")
    ap.add_argument("--scan-rows", type=int, default=16, help="millions of rows in the throughput scan's file")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="quarry-s3-bench-"))
    root = tmp / "s3"
    lake = root / "lake"
    lake.mkdir(parents=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="testtest",
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    server_bin = a.server or find_server()
    print(f"server: {server_bin}")
    server = subprocess.Popen([server_bin, "--host", "127.0.0.1", "--port", str(port), "--access-key", "test",
                               "--secret-key", "testtest", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "RUST_LOG": "error"})
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        home = tmp / "home"
        # one small parquet file, hard-linked into 10,000 partition folders
        seed = tmp / "seed"
        run(a.quarry, home, env, f"CREATE TABLE seed USING parquet LOCATION '{seed}' AS SELECT id, id * 2 AS v FROM range(100) AS r(id)")
        f = next(p for p in seed.iterdir() if p.suffix == ".parquet")
        t0 = time.perf_counter()
        for d in range(1000):
            for h in range(10):
                p = lake / "t" / f"d={d:04d}" / f"h={h}"
                p.mkdir(parents=True)
                os.link(f, p / "part-0.parquet")
        print(f"wrote 10,000 partitions in {time.perf_counter() - t0:.1f} s")
        ddl = "CREATE EXTERNAL TABLE t (id bigint, v bigint) PARTITIONED BY (d string, h int) STORED AS PARQUET LOCATION 's3://lake/t'"
        first, second, pruned, gather_all = [], [], [], []
        for i in range(a.runs):
            # MSCK reading all 10,000 partitions' footers into the metastore
            h = tmp / f"home-gather{i}"
            run(a.quarry, h, env, ddl)
            dt, out = run(a.quarry, h, env, "SET quarry.stats.autogather.maxpartitions = 100000; MSCK REPAIR TABLE t")
            gather_all.append(dt)
            assert "partitions added: 10000" in out, out
            h = tmp / f"home{i}"
            run(a.quarry, h, env, ddl)
            dt, out = run(a.quarry, h, env, "MSCK REPAIR TABLE t")
            first.append(dt)
            assert "partitions added: 10000" in out, out
            for k in range(10):
                p = lake / "t" / f"d=9{i}{k:02d}" / "h=0"
                p.mkdir(parents=True)
                os.link(f, p / "part-0.parquet")
            dt, out = run(a.quarry, h, env, "MSCK REPAIR TABLE t")
            second.append(dt)
            assert "partitions added: 10," in out, out
            dt, out = run(a.quarry, h, env, "SELECT count(*), sum(v) FROM t WHERE d = '0500' AND h = 3")
            pruned.append(dt)
            assert out.strip().endswith("100,9900"), out
            for k in range(10):
                shutil.rmtree(lake / "t" / f"d=9{i}{k:02d}")
        _, explain = run(a.quarry, tmp / "home0", env, "EXPLAIN ANALYZE SELECT count(*), sum(v) FROM t WHERE d = '0500' AND h = 3")
        print(f"MSCK REPAIR, 10,000 new partitions: median {statistics.median(first):.3f} s  (runs: {', '.join(f'{x:.3f}' for x in first)})")
        print(f"  same, statistics of all read at MSCK: median {statistics.median(gather_all):.3f} s  (runs: {', '.join(f'{x:.3f}' for x in gather_all)})")
        print(f"MSCK REPAIR, 10 new of 10,010:      median {statistics.median(second):.3f} s  (runs: {', '.join(f'{x:.3f}' for x in second)})")
        print(f"query pruned to 1 partition:        median {statistics.median(pruned):.3f} s  (runs: {', '.join(f'{x:.3f}' for x in pruned)})")
        for line in explain.splitlines():
            if "requests" in line or "partitions:" in line:
                print("   ", line.strip().strip('"'))
        # throughput: the same file written to local disk and through S3 (a PUT: s3s-fs
        # then keeps its ETag; for files placed in its folder directly it computes the MD5
        # of the whole file on every GET, which measures the server, not the client)
        big = tmp / "big"
        gen = f"AS SELECT id, id % 1000 AS k, cast(id AS double) * 1.5 AS x, concat('name-', cast(id % 5000 AS string)) AS s FROM range({a.scan_rows * 1000000}) AS r(id)"
        run(a.quarry, home, env, f"CREATE TABLE big USING parquet LOCATION '{big}' {gen}")
        run(a.quarry, home, env, f"CREATE TABLE big_s3 USING parquet LOCATION 's3://lake/big' {gen}")
        q = "SELECT k, count(*), sum(x), max(s) FROM {} GROUP BY k ORDER BY k LIMIT 3"
        local, remote = [], []
        for _ in range(a.runs):
            lt, lout = run(a.quarry, home, env, q.format(f"parquet.`{big}`"))
            rt, rout = run(a.quarry, home, env, q.format("parquet.`s3://lake/big`"))
            assert lout == rout, f"S3 and local answers differ:\n{lout}\n{rout}"
            local.append(lt)
            remote.append(rt)
        size = sum(p.stat().st_size for p in big.rglob("*.parquet")) / 2**20
        lm, rm = statistics.median(local), statistics.median(remote)
        print(f"scan of {size:.0f} MiB: local {lm:.3f} s ({size / lm:.0f} MiB/s), S3 {rm:.3f} s ({size / rm:.0f} MiB/s), ratio {rm / lm:.2f}")
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
