//! CLI tests of the real binary: one-shot `-e`, `-f`, stdin, exit codes, output formats,
//! and the REPL under a pseudo-terminal.

use std::io::Write;
use std::process::{Command, Stdio};

fn quarry(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.arg("--home")
        .arg(home)
        .env("HOME", home)
        .env_remove("QUARRY_HOME");
    c
}

/// The output of `cmd`, which must exit 0 (else the test fails with its stderr).
fn succeeded(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The stderr of `cmd`, which must fail (else the test fails).
fn failed(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The REPL (`--format csv`) on a pseudo-terminal, with `home` as both Quarry home and HOME.
fn spawn_repl(home: &std::path::Path, timeout_ms: u64) -> rexpect::session::PtySession {
    let bin = env!("CARGO_BIN_EXE_quarry");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{bin} --home {} --format csv", home.display()))
        .env("HOME", home)
        .env_remove("QUARRY_HOME");
    rexpect::session::spawn_command(cmd, Some(timeout_ms)).unwrap()
}

#[test]
fn one_shot_formats_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args([
            "--format",
            "csv",
            "-e",
            "SELECT 1 AS a, 'x' AS b",
            "-e",
            "SELECT NULL AS n",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a,b\n1,x\nn\nNULL\n");

    let out = quarry(tmp.path())
        .args([
            "--format",
            "json",
            "-e",
            "SELECT 1 AS a, 2.5 AS b, 'q' AS c",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"[{"a":1,"b":"2.5","c":"q"}]"#
    );

    let out = quarry(tmp.path())
        .args([
            "--format",
            "ndjson",
            "-e",
            "SELECT CAST(1.5 AS double) AS d UNION ALL SELECT 2.0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"d\":1.5}\n{\"d\":2.0}\n"
    );

    let out = quarry(tmp.path())
        .args(["--format", "tsv", "-e", "SELECT 'a' AS x, 'b' AS y"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\ty\na\tb\n");

    // the first failing statement stops the run with status 1 and a one-line error
    let out = quarry(tmp.path())
        .args([
            "--format",
            "csv",
            "-e",
            "SELECT 1 AS a; SELECT nope; SELECT 2 AS b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: [UNRESOLVED_COLUMN]") && err.lines().count() == 1,
        "{err}"
    );

    // --continue-on-error runs the rest and still fails
    let out = quarry(tmp.path())
        .args([
            "--continue-on-error",
            "--format",
            "csv",
            "-e",
            "SELECT nope; SELECT 2 AS b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b\n2\n");
}

#[test]
fn parse_errors_point_at_the_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args(["-e", "SELECT a FROM t WHERE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("parse error at line 1, column"), "{err}");
    assert!(err.contains("  SELECT a FROM t WHERE\n"), "{err}");
    assert!(err.contains('^'), "{err}");
}

#[test]
fn script_file_stdin_and_persistence() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("s.sql");
    std::fs::write(&script, "-- a comment; with a semicolon\nCREATE TABLE t (a int, s string);\nINSERT INTO t VALUES (1, 'a;b'), (2, 'c');\n").unwrap();
    let out = quarry(tmp.path()).arg("-f").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a second process sees the table (persistent metastore); SQL from stdin
    let mut child = quarry(tmp.path())
        .args(["--format", "csv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT s FROM t ORDER BY a;\nSELECT count(*) AS n FROM t")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "s\na;b\nc\nn\n2\n");
    // a missing script file is an error naming it
    let out = quarry(tmp.path())
        .args(["-f", "/nonexistent/x.sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.sql"));
}

#[test]
fn table_format_shows_rows_and_truncates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args([
            "-e",
            "SET quarry.cli.max_rows = 2",
            "-e",
            "SELECT * FROM (VALUES (1), (2), (3)) AS v(x)",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    // header and the first two rows, then the truncation line; row 3 is not shown
    assert!(s.ends_with("│ x │\n╞═══╡\n│ 1 │\n│ 2 │\n└───┘\n... 1 more rows (showing the first 2; SET quarry.cli.max_rows = N to change)\n"), "{s}");
}

#[test]
fn repl_under_a_pty() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = spawn_repl(tmp.path(), 20_000);
    p.exp_string("quarry> ").unwrap();
    // multi-line input until ';'
    p.send_line("SELECT 40 +").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line("2 AS answer;").unwrap();
    p.exp_string("42").unwrap();
    // an error does not end the session
    p.send_line("SELECT nope;").unwrap();
    p.exp_string("UNRESOLVED_COLUMN").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("\\d").unwrap();
    p.exp_string("namespace,tableName,isTemporary").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("\\format json").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("SELECT 7 AS seven;").unwrap();
    p.exp_string("[{\"seven\":7}]").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
    assert!(tmp.path().join(".quarry_history").exists());
}

#[test]
fn explain_analyze_shows_partition_and_row_group_pruning() {
    let tmp = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/nyc_flights");
    let create = format!(
        "CREATE EXTERNAL TABLE f (day int, dep_delay double, carrier string) PARTITIONED BY (year int, month int) STORED AS PARQUET LOCATION '{}'",
        data.display()
    );
    let out = quarry(tmp.path())
        .args([
            "--format",
            "csv",
            "-e",
            &create,
            "-e",
            "MSCK REPAIR TABLE f",
        ])
        .args([
            "-e",
            "EXPLAIN ANALYZE SELECT count(*) FROM f WHERE month = 12 AND day > 25",
        ])
        .args([
            "-e",
            "SELECT count(*) AS n FROM f WHERE month = 12 AND day > 25",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("partitions: 1 read, 11 pruned"), "{s}");
    // each month has 3 files of 10 days each: day > 25 keeps only the third file's row group
    assert!(
        s.contains("row groups: 1 read, 2 pruned by statistics"),
        "{s}"
    );
    assert!(s.contains("HashAggregateExec"), "{s}");
    // the same count as DuckDB over the same files
    assert!(s.trim_end().ends_with("n\n5345"), "{s}");
}

#[test]
fn or_of_join_keys_plans_a_hash_join_and_filters_each_side() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args(["--format", "csv", "-e"])
        .arg("EXPLAIN SELECT * FROM range(10) a, range(20) b WHERE (a.id = b.id AND a.id > 1 AND b.id < 5) OR (a.id = b.id AND a.id < 0 AND b.id > 7)")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let physical = s.split("== Physical Plan ==").nth(1).unwrap_or_default();
    assert!(
        physical.contains("HashJoinExec Inner on=[id#1 = id#2]")
            || physical.contains("HashJoinExec Inner on=[id#2 = id#1]"),
        "{s}"
    );
    // each side keeps only rows that can match some branch (once)
    assert_eq!(
        physical.matches("((id#1 > 1) OR (id#1 < 0))").count(),
        1,
        "{s}"
    );
    assert_eq!(
        physical.matches("((id#2 < 5) OR (id#2 > 7))").count(),
        1,
        "{s}"
    );
}

#[test]
fn small_outer_side_of_a_semi_join_is_the_build_side() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args(["--format", "csv", "-e"])
        .arg("EXPLAIN SELECT * FROM range(10) a WHERE EXISTS (SELECT 1 FROM range(100000) b WHERE b.id = a.id)")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("HashJoinExec LeftSemi on=[id#1 = id#2] (build=left)"),
        "{s}"
    );
}

#[test]
fn two_processes_share_a_home() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quarry(tmp.path())
        .args(["-e", "CREATE TABLE t (p int, i int)"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // two writers at once, each with many small statements (catalog reads + file writes)
    let script = |p: i32| -> String {
        (0..40).map(|i| format!("INSERT INTO t VALUES ({p}, {i}); CREATE TABLE IF NOT EXISTS t{p}_{i} (x int);\n")).collect()
    };
    let children: Vec<_> = [1, 2]
        .iter()
        .map(|p| {
            let mut c = quarry(tmp.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin
                .take()
                .unwrap()
                .write_all(script(*p).as_bytes())
                .unwrap();
            c
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = quarry(tmp.path())
        .args([
            "--format",
            "csv",
            "-e",
            "SELECT p, count(*) AS n FROM t GROUP BY p ORDER BY p",
            "-e",
            "SHOW TABLES",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with("p,n\n1,40\n2,40\n"), "{s}");
    assert_eq!(
        s.lines().filter(|l| l.starts_with("default,t")).count(),
        81,
        "{s}"
    );
}

#[test]
fn repl_ctrl_c_cancels_a_running_query() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = spawn_repl(tmp.path(), 30_000);
    p.exp_string("quarry> ").unwrap();
    // 10^12 pairs: runs far longer than the test unless cancelled
    p.send_line("WITH d AS (SELECT * FROM VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9) AS v(x)), k AS (SELECT a.x FROM d a, d b, d c) SELECT count(*) FROM k a, k b, k c, k e;").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send_control('c').unwrap();
    p.exp_string("query cancelled").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("SELECT 5 AS five;").unwrap();
    p.exp_string("five").unwrap();
    p.exp_string("quarry> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// SHOW CREATE TABLE gives Spark's USING DDL (columns with their clauses, OPTIONS,
/// PARTITIONED BY, LOCATION of an external table, COMMENT, TBLPROPERTIES; a view's
/// text), and
/// running that text in another home makes the same table, whose DDL is the same.
#[test]
fn show_create_table_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let home1 = tmp.path().join("h1");
    let home2 = tmp.path().join("h2");
    let ddl_of = |home: &std::path::Path, t: &str| -> String {
        let out = succeeded(quarry(home).args([
            "--format",
            "json",
            "-e",
            &format!("SHOW CREATE TABLE {t}"),
        ]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["createtab_stmt"].as_str().unwrap().to_string()
    };
    let setup = format!(
        "CREATE TABLE x (a INT NOT NULL, dt STRING) USING parquet PARTITIONED BY (dt) LOCATION '{}' OPTIONS ('compression' = 'snappy'); \
         CREATE TABLE m (a INT DEFAULT 3 COMMENT 'the a', b DOUBLE GENERATED ALWAYS AS (a * 2), `Odd name` ARRAY<STRUCT<f: INT>>, c CHAR(2), d VARCHAR(4)) COMMENT 'table m' TBLPROPERTIES ('Owner' = 'it\\'s me'); \
         CREATE VIEW v COMMENT 'view v' TBLPROPERTIES ('stage' = '1') AS SELECT a, a + 1 AS b FROM m",
        data.display()
    );
    succeeded(quarry(&home1).args(["-e", &setup]));
    let x = ddl_of(&home1, "x");
    assert_eq!(
        x,
        format!(
            "CREATE TABLE default.x (\n  a INT NOT NULL,\n  dt STRING)\nUSING parquet\nOPTIONS (\n  'compression' = 'snappy')\nPARTITIONED BY (dt)\nLOCATION 'file:{}'\n",
            data.display()
        )
    );
    let m = ddl_of(&home1, "m");
    assert_eq!(
        m,
        "CREATE TABLE default.m (\n  a INT DEFAULT 3 COMMENT 'the a',\n  b DOUBLE GENERATED ALWAYS AS (a * 2),\n  `Odd name` array<struct<f:int>>,\n  c CHAR(2),\n  d VARCHAR(4))\nUSING parquet\nCOMMENT 'table m'\nTBLPROPERTIES (\n  'Owner' = 'it\\'s me')\n"
    );
    let v = ddl_of(&home1, "v");
    assert_eq!(
        v,
        "CREATE VIEW default.v\nCOMMENT 'view v'\nTBLPROPERTIES (\n  'stage' = '1')\nAS SELECT a, a + 1 AS b FROM m\n"
    );
    for ddl in [&x, &m, &v] {
        succeeded(quarry(&home2).args(["-e", ddl]));
    }
    assert_eq!(ddl_of(&home2, "x"), x);
    assert_eq!(ddl_of(&home2, "m"), m);
    assert_eq!(ddl_of(&home2, "v"), v);
    // a temporary view has no DDL to show
    let err = failed(quarry(&home1).args([
        "-e",
        "CREATE TEMPORARY VIEW t AS SELECT 1; SHOW CREATE TABLE t",
    ]));
    assert!(err.contains("SHOW CREATE TABLE is not supported on the temporary view"));
}

/// `--hivevar k=v` (`-d`, `--define`, `--hiveconf`) sets a variable that `${k}` reads in
/// a script, as the spark-sql CLI; SET makes one too; a malformed `--hivevar` is an error.
#[test]
fn variables_substitute_into_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("v.sql");
    std::fs::write(
        &script,
        "SET n = ${hivevar:base}0;\nSELECT '${dt}' AS dt, ${n} + 1 AS n, '${unset}' AS u;\n",
    )
    .unwrap();
    let out = succeeded(quarry(tmp.path()).args([
        "--format",
        "csv",
        "--hivevar",
        "dt=2021-10-05",
        "-d",
        "base=4",
        "-f",
        script.to_str().unwrap(),
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "key,value\nn,40\ndt,n,u\n2021-10-05,41,\n"
    );
    let out = quarry(tmp.path())
        .args(["--hivevar", "novalue", "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
}

/// DESCRIBE EXTENDED shows a table's options and properties with secret values redacted
/// (Spark's `spark.redaction.regex` keys: secret, password, token, access key), and DESC
/// PARTITION of a temporary view is Spark's FORBIDDEN_OPERATION.
#[test]
fn describe_redacts_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let out = succeeded(quarry(tmp.path()).args([
        "--format",
        "csv",
        "-e",
        "CREATE TABLE red (a INT) USING csv OPTIONS (header 'true', 'fs.s3a.secret.key' 'abc', password 'pw') TBLPROPERTIES ('api_token' = 'tk', 'owner' = 'me'); DESCRIBE EXTENDED red",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "[fs.s3a.secret.key=*********(redacted), header=true, password=*********(redacted)]"
        ),
        "{text}"
    );
    assert!(
        text.contains("[api_token=*********(redacted), owner=me]"),
        "{text}"
    );
    assert!(
        !text.contains("abc") && !text.contains("pw]") && !text.contains("=tk"),
        "{text}"
    );
    let err = failed(quarry(tmp.path()).args([
        "-e",
        "CREATE TEMPORARY VIEW tv AS SELECT 1 AS a; DESC tv PARTITION (a = 1)",
    ]));
    assert!(err.contains(
        "[FORBIDDEN_OPERATION] The operation DESC PARTITION is not allowed on the TEMPORARY VIEW: `tv`."
    ));
}
