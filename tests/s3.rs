//! S3 end to end, through the real binary against a local S3 server (see
//! `tests/support/s3_server.rs`): a query joining an S3 table with a local one, writing
//! to S3, the listing cache and REFRESH, catalog-file settings, secrets never printed,
//! and the one-line errors (403, unknown bucket, unreachable endpoint, missing path).

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use support::s3_server::S3Server;

fn write_parquet(path: &Path, ids: Vec<i32>, names: Vec<&str>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(ids)) as ArrayRef,
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// The binary with a fresh HOME, no AWS settings but the server's.
fn quarry(home: &Path, server: &S3Server) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.arg("--home")
        .arg(home)
        .arg("--format")
        .arg("csv")
        .env("HOME", home)
        .env_remove("QUARRY_HOME");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    for (k, v) in server.env() {
        c.env(k, v);
    }
    c
}

/// The binary with a fresh HOME and no AWS_* variables at all, reading the catalog files
/// in `catalogs` (whose `[s3]` tables must point it at the server), running `sql`:
/// (stdout, stderr).
fn run_with_catalogs(
    home: &Path,
    server: &S3Server,
    catalogs: &Path,
    sql: &str,
) -> (String, String) {
    let mut c = quarry(home, server);
    for (k, _) in server.env() {
        c.env_remove(k);
    }
    let o = c
        .arg("--catalog-dir")
        .arg(catalogs)
        .args(["-e", sql])
        .output()
        .unwrap();
    text(&o)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Tracks on S3 (two `dt=` partitions), artists on local disk.
fn lake(server: &S3Server, local: &Path) {
    let b = server.bucket_dir("lake");
    write_parquet(
        &b.join("top_tracks/dt=2021-10-05/part-0.parquet"),
        vec![1, 2, 3],
        vec!["a", "b", "c"],
    );
    write_parquet(
        &b.join("top_tracks/dt=2021-10-06/part-0.parquet"),
        vec![1, 3],
        vec!["d", "e"],
    );
    std::fs::write(b.join("top_tracks/_SUCCESS"), b"").unwrap();
    write_parquet(
        &local.join("artists/part-0.parquet"),
        vec![1, 2, 3],
        vec!["ann", "bob", "cid"],
    );
}

#[test]
fn s3_and_local_tables_in_one_query_writes_refresh_and_errors() {
    let Some(server) = S3Server::start(&["lake", "out"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    lake(&server, tmp.path());
    let setup = format!(
        "CREATE EXTERNAL TABLE top_tracks (id int, name string) PARTITIONED BY (dt string) STORED AS PARQUET LOCATION 's3://lake/top_tracks/';
         MSCK REPAIR TABLE top_tracks;
         CREATE TABLE artists USING parquet LOCATION '{}';",
        tmp.path().join("artists").display()
    );
    let o = quarry(&home, &server)
        .args(["-e", &setup])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("partitions added: 2, dropped: 0, kept: 0"),
        "{out}"
    );

    // one query over both, partition-pruned on the S3 side
    let q = "SELECT a.name, count(*) AS n FROM top_tracks t JOIN artists a ON t.id = a.id WHERE t.dt >= '2021-10-05' GROUP BY a.name ORDER BY a.name";
    let o = quarry(&home, &server).args(["-e", q]).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out, "name,n\nann,2\nbob,1\ncid,2\n");
    let o = quarry(&home, &server)
        .args([
            "-e",
            "EXPLAIN ANALYZE SELECT count(*) FROM top_tracks WHERE dt = '2021-10-06'",
        ])
        .output()
        .unwrap();
    let (out, _) = text(&o);
    assert!(out.contains("location=s3://lake/top_tracks"), "{out}");
    assert!(out.contains("partitions: 1 read, 1 pruned"), "{out}");
    assert!(out.contains("S3 requests: 2 (1 list, 1 get)"), "{out}");
    // a small file's data comes with its footer read: no second GET
    let o = quarry(&home, &server)
        .args([
            "-e",
            "EXPLAIN ANALYZE SELECT sum(id) FROM top_tracks WHERE dt = '2021-10-05'",
            "-e",
            "SELECT sum(id), max(name) FROM top_tracks WHERE dt = '2021-10-05'",
        ])
        .output()
        .unwrap();
    let (out, _) = text(&o);
    assert!(out.contains("S3 requests: 2 (1 list, 1 get)"), "{out}");
    assert!(out.ends_with("6,c\n"), "{out}");
    let o = quarry(&home, &server)
        .args(["-e", "EXPLAIN SELECT * FROM artists"])
        .output()
        .unwrap();
    assert!(
        text(&o).0.contains(&format!(
            "location={}",
            tmp.path().join("artists").display()
        )),
        "{}",
        text(&o).0
    );

    // listings are cached within a session until REFRESH (through the library: the file
    // must appear between two statements of one session)
    let mut session = quarry::Session::open(&tmp.path().join("home2"), Some(2), None).unwrap();
    for st in server.setup_sql() {
        session.sql(&st).unwrap();
    }
    session.sql("CREATE EXTERNAL TABLE tt (id int, name string) PARTITIONED BY (dt string) STORED AS PARQUET LOCATION 's3://lake/top_tracks'").unwrap();
    session.sql("MSCK REPAIR TABLE tt").unwrap();
    let count = |s: &mut quarry::Session| -> String {
        let r = s.sql("SELECT count(*) FROM tt").unwrap();
        quarry::cli::slt::cell_text(r.batches[0].column(0).as_ref(), 0)
    };
    assert_eq!(count(&mut session), "5");
    write_parquet(
        &server
            .bucket_dir("lake")
            .join("top_tracks/dt=2021-10-06/part-1.parquet"),
        vec![2],
        vec!["f"],
    );
    assert_eq!(count(&mut session), "5", "cached listing");
    session.sql("REFRESH TABLE tt").unwrap();
    assert_eq!(count(&mut session), "6", "after REFRESH TABLE");
    write_parquet(
        &server
            .bucket_dir("lake")
            .join("top_tracks/dt=2021-10-06/part-2.parquet"),
        vec![3],
        vec!["g"],
    );
    session
        .sql("REFRESH 's3://lake/top_tracks/dt=2021-10-06'")
        .unwrap();
    assert_eq!(count(&mut session), "7", "after REFRESH path");

    // writing: CTAS to S3, then INSERT, read back
    let o = quarry(&home, &server)
        .args(["-e", "CREATE TABLE summary USING parquet LOCATION 's3://out/summary' AS SELECT dt, count(*) AS n FROM top_tracks GROUP BY dt"])
        .args(["-e", "INSERT INTO summary VALUES ('2021-10-07', 7)"])
        .args(["-e", "SELECT * FROM summary ORDER BY dt"])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out, "dt,n\n2021-10-05,3\n2021-10-06,4\n2021-10-07,7\n");
    let written: Vec<_> = std::fs::read_dir(server.bucket_dir("out").join("summary"))
        .unwrap()
        .collect();
    assert_eq!(written.len(), 2, "one object per write");

    // secrets are never printed
    let o = quarry(&home, &server)
        .args([
            "-e",
            "SET quarry.s3.secret_access_key = sekrit-value",
            "-e",
            "SET",
        ])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(
        !out.contains("sekrit") && !err.contains("sekrit"),
        "{out}{err}"
    );
    assert!(
        out.contains("quarry.s3.secret_access_key,*********(redacted)"),
        "{out}"
    );

    // errors: one line naming the object, the credential source and the fix
    let o = quarry(&home, &server)
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .args(["-e", "SELECT count(*) FROM parquet.`s3://lake/top_tracks`"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("access denied (403) to list s3://lake/top_tracks (bucket 'lake')"),
        "{err}"
    );
    assert!(
        err.contains("secret access key does not match")
            && err.contains("environment (AWS_* variables)"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = quarry(&home, &server)
        .args(["-e", "SELECT * FROM parquet.`s3://nosuchbucket/x`"])
        .output()
        .unwrap();
    assert!(
        text(&o)
            .1
            .contains("S3 bucket 'nosuchbucket' does not exist at http://127.0.0.1:"),
        "{}",
        text(&o).1
    );
    let o = quarry(&home, &server)
        .args(["-e", "SELECT * FROM parquet.`s3://lake/missing`"])
        .output()
        .unwrap();
    assert!(
        text(&o)
            .1
            .contains("[PATH_NOT_FOUND] Path does not exist: s3://lake/missing"),
        "{}",
        text(&o).1
    );
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = quarry(&home, &server)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{dead}"))
        .args(["-e", "SELECT * FROM parquet.`s3://lake/top_tracks`"])
        .output()
        .unwrap();
    assert!(
        text(&o).1.contains(&format!(
            "S3 endpoint http://127.0.0.1:{dead} is unreachable"
        )),
        "{}",
        text(&o).1
    );
    let o = quarry(&home, &server)
        .env("AWS_ENDPOINT_URL", "http://s3.example.internal:9000")
        .env_remove("AWS_ALLOW_HTTP")
        .args(["-e", "SELECT 1 FROM parquet.`s3://lake/x`"])
        .output()
        .unwrap();
    assert!(
        text(&o).1.contains("is plain HTTP: set allow_http"),
        "{}",
        text(&o).1
    );
}

#[test]
fn catalog_file_s3_settings() {
    let Some(server) = S3Server::start(&["lake"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    write_parquet(
        &server.bucket_dir("lake").join("t/part-0.parquet"),
        vec![1, 2],
        vec!["a", "b"],
    );
    let catalogs = tmp.path().join("catalog");
    std::fs::create_dir_all(&catalogs).unwrap();
    std::fs::write(
        catalogs.join("spark_catalog.toml"),
        format!(
            "connector = \"metastore\"\ndefault = true\n[s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_id = \"test\"\nsecret_access_key = \"testtest\"\nallow_http = true\n",
            server.endpoint
        ),
    )
    .unwrap();
    // no AWS_* variables at all: the catalog file's settings are used
    let (out, err) = run_with_catalogs(
        &home,
        &server,
        &catalogs,
        "SELECT sum(id) AS s FROM parquet.`s3://lake/t`",
    );
    assert_eq!(out, "s\n3\n", "{err}");
    // a wrong secret there is reported with the file as the credential source
    std::fs::write(
        catalogs.join("spark_catalog.toml"),
        format!("connector = \"metastore\"\ndefault = true\n[s3]\nendpoint = \"{}\"\naccess_key_id = \"test\"\nsecret_access_key = \"nope\"\n", server.endpoint),
    )
    .unwrap();
    let (_, err) = run_with_catalogs(
        &home,
        &server,
        &catalogs,
        "SELECT 1 FROM parquet.`s3://lake/t`",
    );
    assert!(
        err.contains("credentials from catalog file spark_catalog.toml"),
        "{err}"
    );
    // an unknown key is an error naming the file
    std::fs::write(
        catalogs.join("spark_catalog.toml"),
        "connector = \"metastore\"\ndefault = true\n[s3]\nendpont = \"x\"\n",
    )
    .unwrap();
    let o = quarry(&home, &server)
        .arg("--catalog-dir")
        .arg(&catalogs)
        .args(["-e", "SELECT 1"])
        .output()
        .unwrap();
    assert!(
        text(&o)
            .1
            .contains("spark_catalog.toml: unknown S3 setting 'endpont'"),
        "{}",
        text(&o).1
    );
}

/// A lake catalog on S3 (its own `[s3]` settings, no AWS_* variables): SHOW TABLES lists
/// the top-level folders, three-part names read them (format and partitions inferred) and
/// join a local metastore table; unknown names and DDL give one-line errors.
#[test]
fn lake_catalog_on_s3() {
    let Some(server) = S3Server::start(&["lake"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let local = tmp.path().join("local");
    lake(&server, &local);
    std::fs::create_dir_all(server.bucket_dir("lake").join("_tmp_hidden")).unwrap();
    std::fs::write(
        server.bucket_dir("lake").join("_tmp_hidden/x.csv"),
        b"a\n1\n",
    )
    .unwrap();
    std::fs::create_dir_all(server.bucket_dir("lake").join("plays")).unwrap();
    std::fs::write(
        server.bucket_dir("lake").join("plays/p.csv"),
        b"track,n\n1,10\n3,5\n",
    )
    .unwrap();
    let catalogs = tmp.path().join("catalog");
    std::fs::create_dir_all(&catalogs).unwrap();
    std::fs::write(
        catalogs.join("spark_catalog.toml"),
        "connector = \"metastore\"\ndefault = true\n",
    )
    .unwrap();
    std::fs::write(
        catalogs.join("music.toml"),
        format!(
            "connector = \"lake\"\nlocation = \"s3://lake/\"\noptions = {{ header = true }}\n[s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_id = \"test\"\nsecret_access_key = \"testtest\"\nallow_http = true\n",
            server.endpoint
        ),
    )
    .unwrap();
    let run = |sql: &str| run_with_catalogs(&home, &server, &catalogs, sql);
    let (out, err) = run("SHOW TABLES IN music");
    assert_eq!(
        out, "namespace,tableName,isTemporary\ndefault,plays,false\ndefault,top_tracks,false\n",
        "{err}"
    );
    let (out, err) = run(&format!(
        "CREATE TABLE artists USING parquet LOCATION '{}'; \
         SELECT t.dt, a.name, sum(CAST(p.n AS INT)) AS plays FROM music.default.top_tracks t \
         JOIN artists a ON t.id = a.id JOIN music.default.plays p ON CAST(p.track AS INT) = t.id \
         GROUP BY t.dt, a.name ORDER BY t.dt, a.name",
        local.join("artists").display()
    ));
    assert!(err.is_empty(), "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "dt,name,plays", "{out}");
    assert_eq!(rows.len(), 5, "{out}");
    let (out, _) = run("DESCRIBE EXTENDED music.default.top_tracks");
    assert!(out.contains("Location,s3://lake/top_tracks,"), "{out}");
    assert!(out.contains("Catalog,music,"), "{out}");
    let (_, err) = run("SELECT * FROM music.default.top_track");
    assert!(
        err.contains("[TABLE_OR_VIEW_NOT_FOUND]") && err.contains("did you mean `top_tracks`"),
        "{err}"
    );
    let (_, err) = run("MSCK REPAIR TABLE music.default.top_tracks");
    assert!(err.contains("is a lake catalog"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Listing a folder tree: one delimiter listing per folder while few folders are in view
/// (hidden ones never listed), one recursive listing once many are.
#[test]
fn s3_listing_by_folder_then_recursive() {
    let Some(server) = S3Server::start(&["lake"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let b = server.bucket_dir("lake");
    write_parquet(&b.join("nested/part-0.parquet"), vec![1], vec!["a"]);
    write_parquet(&b.join("nested/x/part-0.parquet"), vec![2], vec!["b"]);
    write_parquet(&b.join("nested/x/y/part-0.parquet"), vec![3], vec!["c"]);
    write_parquet(
        &b.join("nested/_temporary/part-9.parquet"),
        vec![9],
        vec!["z"],
    );
    for i in 0..40 {
        write_parquet(
            &b.join(format!("wide/f{i:02}/part-0.parquet")),
            vec![i],
            vec!["w"],
        );
    }
    write_parquet(
        &b.join("wide/_temporary/part-9.parquet"),
        vec![100],
        vec!["z"],
    );
    let run = |sql: &str| {
        let o = quarry(&home, &server).args(["-e", sql]).output().unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        out
    };
    assert_eq!(
        run("SELECT sum(id), count(*) FROM parquet.`s3://lake/nested`"),
        "sum(id),count(1)\n6,3\n"
    );
    // tables, so that the query's own listing shows (a path's is done by binding)
    run("CREATE TABLE nested USING parquet LOCATION 's3://lake/nested'");
    run("CREATE TABLE wide USING parquet LOCATION 's3://lake/wide'");
    let out = run("EXPLAIN ANALYZE SELECT sum(id) FROM nested");
    assert!(out.contains("S3 requests: 6 (3 list, 3 get)"), "{out}");
    assert_eq!(
        run("SELECT sum(id), count(*) FROM parquet.`s3://lake/wide`"),
        "sum(id),count(1)\n780,40\n"
    );
    let out = run("EXPLAIN ANALYZE SELECT sum(id) FROM wide");
    assert!(out.contains("S3 requests: 42 (2 list, 40 get)"), "{out}");

    // a path read of partition folders lists the tree once (binding): the partitions
    // and their files come from that listing, the scan lists nothing
    for k in 1..=3 {
        write_parquet(
            &b.join(format!("parted/k={k}/part-0.parquet")),
            vec![k, 10 * k],
            vec!["p", "q"],
        );
    }
    let out = run("EXPLAIN ANALYZE SELECT k, sum(id) FROM parquet.`s3://lake/parted` GROUP BY k");
    assert!(out.contains("partitions: 3 read, 0 pruned"), "{out}");
    assert!(out.contains("(0 list, "), "{out}");
    assert_eq!(
        run("SELECT k, sum(id) FROM parquet.`s3://lake/parted` WHERE k >= 2 GROUP BY k ORDER BY k"),
        "k,sum(id)\n2,22\n3,33\n"
    );

    // count(*) of a file larger than the footer read takes the footer's row count: the
    // listing and the footer GET, no data; counting a column reads it
    let ids: Vec<i32> = (0..200_000).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("name-{i}")).collect();
    write_parquet(
        &b.join("big/part-0.parquet"),
        ids,
        names.iter().map(|s| s.as_str()).collect(),
    );
    run("CREATE TABLE big USING parquet LOCATION 's3://lake/big'");
    let out = run("EXPLAIN ANALYZE SELECT count(*) FROM big");
    assert!(out.contains("columns=[]"), "{out}");
    assert!(out.contains("S3 requests: 2 (1 list, 1 get)"), "{out}");
    assert_eq!(run("SELECT count(*) FROM big"), "count(1)\n200000\n");
    let out = run("EXPLAIN ANALYZE SELECT count(name) FROM big");
    assert!(out.contains("columns=[name]"), "{out}");
    assert!(
        out.contains("S3 requests: ") && !out.contains("1 get)"),
        "{out}"
    );
    assert_eq!(run("SELECT count(name) FROM big"), "count(name)\n200000\n");
}

/// MSCK over more partition folders than one listing page holds (S3 returns at most
/// 1,000 keys or prefixes per ListObjectsV2): every folder is found, and a second MSCK
/// adds only the new ones.
#[test]
fn msck_over_more_than_one_listing_page() {
    let Some(server) = S3Server::start(&["lake"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let b = server.bucket_dir("lake");
    let seed = tmp.path().join("seed.parquet");
    write_parquet(&seed, vec![1, 2], vec!["a", "b"]);
    let add = |d: usize| {
        let dir = b.join(format!("t/d={d:04}/h=0"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::hard_link(&seed, dir.join("part-0.parquet")).unwrap();
    };
    (0..1003).for_each(add);
    let run = |sql: &str| {
        let o = quarry(&home, &server).args(["-e", sql]).output().unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        out
    };
    run("CREATE EXTERNAL TABLE t (id int, name string) PARTITIONED BY (d string, h int) STORED AS PARQUET LOCATION 's3://lake/t'");
    assert_eq!(
        run("MSCK REPAIR TABLE t"),
        "result\n\"partitions added: 1003, dropped: 0, kept: 0\"\n"
    );
    (1003..1005).for_each(add);
    assert_eq!(
        run("MSCK REPAIR TABLE t"),
        "result\n\"partitions added: 2, dropped: 0, kept: 1003\"\n"
    );
    assert_eq!(
        run("SELECT count(*), sum(id), max(d) FROM t"),
        "count(1),sum(id),max(d)\n2010,3015,1004\n"
    );
}
