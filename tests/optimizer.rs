//! The cost-based optimizer end to end: ANALYZE TABLE's table-level statistics in
//! DESCRIBE EXTENDED, estimated against actual rows in EXPLAIN ANALYZE, and join order
//! independent of the FROM order for a star join (TPC-H plans: tests/tpch.rs).

use quarry::Session;

fn text(session: &mut Session, sql: &str) -> String {
    let r = session.sql(sql).unwrap();
    let mut out = String::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| quarry::cli::slt::cell_text(c.as_ref(), i))
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
    }
    out
}

#[test]
fn statistics_estimates_and_join_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    s.sql("CREATE TABLE fact USING parquet AS SELECT id, id % 100 AS k, id % 7 AS j FROM range(50000)").unwrap();
    s.sql("CREATE TABLE d1 USING parquet AS SELECT id AS k, id % 5 AS grp FROM range(100)")
        .unwrap();
    s.sql("CREATE TABLE d2 USING parquet AS SELECT id AS j, id AS w FROM range(7)")
        .unwrap();

    // DESCRIBE EXTENDED: the Statistics row appears after ANALYZE
    assert!(!text(&mut s, "DESCRIBE EXTENDED fact").contains("Statistics"));
    s.sql("ANALYZE TABLE fact COMPUTE STATISTICS FOR ALL COLUMNS")
        .unwrap();
    let d = text(&mut s, "DESCRIBE EXTENDED fact");
    let stats = d.lines().find(|l| l.starts_with("Statistics")).unwrap();
    assert!(stats.contains(" bytes, 50000 rows\t"), "{stats}");
    let k = text(&mut s, "DESCRIBE EXTENDED fact k");
    assert!(k.contains("distinct_count\t100\n"), "{k}");
    assert!(k.contains("min\t0\n") && k.contains("max\t99\n"), "{k}");
    assert!(k.contains("histogram\tnum_of_bins: 254\n"), "{k}");

    // estimates: a range on an analyzed column, and est vs actual in EXPLAIN ANALYZE
    let plan = text(&mut s, "EXPLAIN ANALYZE SELECT * FROM fact WHERE k < 10");
    let scan = plan.lines().find(|l| l.contains("ScanExec")).unwrap();
    assert!(scan.contains("[rows=5000 est="), "{scan}");
    let est: f64 = scan
        .split("est=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('K')
        .parse()
        .unwrap();
    let est = if scan.contains("K time") {
        est * 1000.0
    } else {
        est
    };
    assert!((4000.0..6500.0).contains(&est), "{scan}");
    assert!(plan.contains("planned in"), "{plan}");

    // the join order: the filtered dimension joins the fact first, whatever the FROM order
    let q1 = "SELECT count(*) FROM fact f, d2, d1 WHERE f.k = d1.k AND f.j = d2.j AND d1.grp = 1";
    let q2 = "SELECT count(*) FROM d1, d2, fact f WHERE d1.grp = 1 AND f.j = d2.j AND d1.k = f.k";
    let shape = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| l.contains("Exec"))
            .map(|l| {
                let t = l.trim_start();
                let name = t.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                format!(
                    "{}{}",
                    &l[..l.len() - t.len()],
                    if name.starts_with("ScanExec") {
                        name
                    } else {
                        t.split_whitespace().next().unwrap().to_string()
                    }
                )
            })
            .collect()
    };
    let p1 = text(&mut s, &format!("EXPLAIN {q1}"));
    let p2 = text(&mut s, &format!("EXPLAIN {q2}"));
    let phys = |p: &str| p[p.find("== Physical Plan").unwrap()..].to_string();
    assert_eq!(shape(&phys(&p1)), shape(&phys(&p2)), "{p1}\n{p2}");
    // the lowest join is fact with the filtered d1 (d1 is that join's build side)
    let lines = shape(&phys(&p1));
    let d1 = lines
        .iter()
        .position(|l| l.ends_with("ScanExec default.d1"))
        .unwrap();
    let fact = lines
        .iter()
        .position(|l| l.ends_with("ScanExec default.fact"))
        .unwrap();
    assert_eq!(d1, fact + 1, "{}", lines.join("\n"));
    assert_eq!(text(&mut s, q1), text(&mut s, q2));
    assert_eq!(text(&mut s, q1), "10000\n");
}
