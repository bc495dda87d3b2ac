//! Lake catalogs on local disk (`connector = "lake"`): tables are the folders under the
//! catalog's location, read with three-part names; S3 lakes are tested in tests/s3.rs.

mod support;

use quarry::Session;

fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    support::result_lines(s, sql, " ")
}

#[test]
fn local_lake_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cat = tmp.path().join("catalog");
    std::fs::create_dir_all(data.join("users")).unwrap();
    std::fs::create_dir_all(data.join(".hidden")).unwrap();
    std::fs::create_dir_all(&cat).unwrap();
    std::fs::write(data.join("users/u.csv"), "id,name\n1,ann\n2,bob\n").unwrap();
    std::fs::write(
        cat.join("spark_catalog.toml"),
        "connector = \"metastore\"\ndefault = true\n",
    )
    .unwrap();
    std::fs::write(
        cat.join("lake.toml"),
        format!(
            "connector = \"lake\"\nlocation = \"{}\"\noptions = {{ header = true }}\n",
            data.display()
        ),
    )
    .unwrap();
    let mut s = Session::open(&tmp.path().join("home"), Some(2), Some(&cat)).unwrap();
    // partitioned parquet written by Quarry itself into the lake
    for (day, range) in [("2021-10-01", "0, 4"), ("2021-10-02", "4, 6")] {
        s.sql(&format!(
            "CREATE TABLE e_{} USING parquet LOCATION '{}/events/dt={day}' AS SELECT id, id % 2 + 1 AS uid FROM range({range})",
            day.replace('-', "_"),
            data.display()
        ))
        .unwrap();
    }
    assert_eq!(
        rows(&mut s, "SHOW TABLES IN lake"),
        vec!["default events false", "default users false"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT e.dt, u.name, count(*) FROM lake.default.events e JOIN lake.default.users u \
             ON e.uid = CAST(u.id AS BIGINT) GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        vec![
            "2021-10-01 ann 2",
            "2021-10-01 bob 2",
            "2021-10-02 ann 1",
            "2021-10-02 bob 1"
        ]
    );
    // partition pruning applies to the discovered partitions
    let plan = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT count(*) FROM lake.default.events WHERE dt = '2021-10-02'",
    )
    .join("\n");
    assert!(plan.contains("partitions: 1 read, 1 pruned"), "{plan}");
    assert!(plan.contains("ScanExec lake.default.events"), "{plan}");
    // a new partition shows after REFRESH TABLE
    s.sql(&format!(
        "CREATE TABLE e3 USING parquet LOCATION '{}/events/dt=2021-10-03' AS SELECT 9 AS id, 1 AS uid",
        data.display()
    ))
    .unwrap();
    s.sql("REFRESH TABLE lake.default.events").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM lake.default.events"),
        vec!["7"]
    );
    // errors
    let err = |s: &mut Session, sql: &str| s.sql(sql).err().unwrap().to_string();
    assert!(err(&mut s, "SELECT * FROM lake.default.user").contains("did you mean `users`"));
    assert!(err(&mut s, "SELECT * FROM lake.db2.users").contains("[SCHEMA_NOT_FOUND]"));
    assert!(err(&mut s, "SELECT * FROM lake.default.`.hidden`").contains("not a table name"));
    assert!(
        err(&mut s, "INSERT INTO lake.default.users VALUES ('3', 'cid')")
            .contains("is a lake catalog")
    );
    assert!(err(&mut s, "SELECT * FROM other.default.users").contains("[CATALOG_NOT_FOUND]"));
}
