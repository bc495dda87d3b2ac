//! The cost-based optimizer end to end: ANALYZE TABLE's table-level statistics in
//! DESCRIBE EXTENDED, estimated against actual rows in EXPLAIN ANALYZE, and join order
//! independent of the FROM order for a star join (TPC-H plans: tests/tpch.rs).

mod support;

use quarry::Session;

/// `SET quarry.optimizer.disabled_rules = 'rules'`.
fn disable(s: &mut Session, rules: &str) {
    s.sql(&format!("SET quarry.optimizer.disabled_rules = '{rules}'"))
        .unwrap();
}

fn text(session: &mut Session, sql: &str) -> String {
    support::result_lines(session, sql, "\t")
        .into_iter()
        .map(|l| l + "\n")
        .collect()
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
    // (projections are left out: one that drops a filter-only column sits over a scan)
    let shape = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| l.contains("Exec") && !l.trim_start().starts_with("ProjectExec"))
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

/// Each rewrite rule shows in EXPLAIN, and disabling it by name takes its effect away.
#[test]
fn rewrite_rules_show_in_explain_and_can_be_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let mut s = Session::open(&tmp.path().join("home"), Some(2), None).unwrap();
    for (i, day) in ["2021-10-01", "2021-10-02", "2021-10-03"]
        .iter()
        .enumerate()
    {
        s.sql(&format!(
            "CREATE TABLE p{i} USING parquet LOCATION '{}/dt={day}' AS SELECT id FROM range({}, {})",
            lake.display(),
            i * 10,
            i * 10 + 10
        ))
        .unwrap();
    }
    s.sql(&format!(
        "CREATE EXTERNAL TABLE ev (id bigint) PARTITIONED BY (dt string) STORED AS PARQUET LOCATION '{}'",
        lake.display()
    ))
    .unwrap();
    s.sql("MSCK REPAIR TABLE ev").unwrap();
    let scans = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| l.contains("ScanExec") || l.contains("partitions:"))
            .map(|l| l.trim().to_string())
            .collect()
    };

    // constant folding: the partition filter is a literal in the plan
    let q = "EXPLAIN SELECT count(*) FROM ev WHERE dt = concat('2021-10-', '02') AND 1 = 1";
    let optimized = |p: String| p[p.find("== Optimized").unwrap()..].to_string();
    let p = optimized(text(&mut s, q));
    assert!(
        p.contains("filters=[(dt#") && p.contains(" = '2021-10-02')]"),
        "{p}"
    );
    assert!(!p.contains("(1 = 1)"), "{p}");
    disable(&mut s, "constant_folding");
    let p = optimized(text(&mut s, q));
    assert!(
        p.contains("concat('2021-10-', '02')") && p.contains("(1 = 1)"),
        "{p}"
    );

    // date arithmetic with an interval folds to a constant, so it prunes partitions
    // (through the cast of the partition column)
    let q = "EXPLAIN ANALYZE SELECT count(*) FROM ev WHERE CAST(dt AS DATE) >= DATE '2021-10-04' - INTERVAL 2 DAYS";
    let p = text(&mut s, q);
    assert!(p.contains("partitions: 2 read, 1 pruned"), "{p}");
    assert!(
        text(
            &mut s,
            "SELECT count(*) FROM ev WHERE CAST(dt AS DATE) >= DATE '2021-10-04' - INTERVAL 2 DAYS"
        ) == "20\n",
        "two partitions of 10 rows"
    );

    // transitive predicates: both sides of the join prune to one partition
    let q = "EXPLAIN ANALYZE SELECT count(*) FROM ev a JOIN ev b ON a.dt = b.dt WHERE a.dt = '2021-10-02'";
    disable(&mut s, "");
    let p = scans(&text(&mut s, q)).join("\n");
    assert_eq!(p.matches("partitions: 1 read, 2 pruned").count(), 2, "{p}");
    disable(&mut s, "transitive_predicates");
    let p = scans(&text(&mut s, q)).join("\n");
    assert_eq!(p.matches("partitions: 1 read, 2 pruned").count(), 1, "{p}");
    assert_eq!(p.matches("partitions: 3 read, 0 pruned").count(), 1, "{p}");

    // limit pushdown: each UNION ALL branch stops after 4 rows
    let q = "EXPLAIN SELECT id FROM ev UNION ALL SELECT id FROM ev LIMIT 4";
    disable(&mut s, "");
    let p = text(&mut s, q);
    assert_eq!(p.matches("LimitExec skip=0 fetch=4").count(), 3, "{p}");
    disable(&mut s, "limit_pushdown");
    let p = text(&mut s, q);
    assert_eq!(p.matches("LimitExec skip=0 fetch=4").count(), 1, "{p}");

    // top-k: ORDER BY ... LIMIT through a projection
    let q = "EXPLAIN SELECT id + 1 FROM ev ORDER BY id LIMIT 3 OFFSET 2";
    disable(&mut s, "");
    assert!(text(&mut s, q).contains("SortExec (top-5)"));
    disable(&mut s, "top_k");
    let p = text(&mut s, q);
    assert!(p.contains("SortExec [") && !p.contains("top-"), "{p}");

    // common subexpressions: id * 2 + 1 computed once, below the aggregate
    let q = "SELECT sum(id * 2 + 1), max(id * 2 + 1) FROM ev";
    disable(&mut s, "");
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert!(
        p.contains("aggs=[sum(__common_0#") && p.contains("((id#") && p.contains(" AS __common_0"),
        "{p}"
    );
    assert_eq!(text(&mut s, q), "900\t59\n");
    disable(&mut s, "common_subexpressions");
    assert!(!text(&mut s, &format!("EXPLAIN {q}")).contains("__common"));
    assert_eq!(text(&mut s, q), "900\t59\n");

    // semi-join reduction: the per-id aggregate of the decorrelated subquery reads only
    // the ids of the filtered partition (a second, filtered scan of ev)
    let q = "SELECT count(*) FROM ev a WHERE a.dt = '2021-10-02' \
             AND a.id >= (SELECT avg(b.id) FROM ev b WHERE b.id = a.id)";
    let p = text(&mut s, &format!("EXPLAIN ANALYZE {q}"));
    let semi = p
        .lines()
        .find(|l| l.contains("HashJoinExec LeftSemi"))
        .unwrap_or_else(|| panic!("{p}"));
    assert!(semi.contains("[rows=10 "), "{p}");
    assert_eq!(text(&mut s, q), "10\n");
    disable(&mut s, "semi_join_reduction");
    assert!(!text(&mut s, &format!("EXPLAIN {q}")).contains("LeftSemi"));
    assert_eq!(text(&mut s, q), "10\n");

    // EXPLAIN VERBOSE lists every rule in its order
    disable(&mut s, "");
    let p = text(&mut s, &format!("EXPLAIN VERBOSE {q}"));
    let order = [
        "constant_folding",
        "transitive_predicates",
        "predicate_pushdown",
        "join_reorder",
        "semi_join_reduction",
        "limit_pushdown",
        "top_k",
        "common_subexpressions",
        "projection_pruning",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|r| {
            p.find(&format!("== After {r} =="))
                .unwrap_or_else(|| panic!("{r}: {p}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{p}");
}

/// An aggregate the query computes twice (a CTE read twice, or read by the query and by
/// an uncorrelated subquery, as TPC-H Q15) runs once; copies the optimizer rewrote
/// differently, and nondeterministic ones, each run by themselves; `reuse_subplans` in
/// the disabled rules turns sharing off, with the same answers.
#[test]
fn repeated_aggregates_run_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    s.sql("CREATE TABLE t USING parquet AS SELECT id, id % 10 AS k FROM range(1000)")
        .unwrap();
    let cte = "WITH g AS (SELECT k, count(*) AS c, sum(id) AS total FROM t GROUP BY k) ";
    let count = |p: &str, what: &str| p.matches(what).count();
    // scans of t, and aggregates read from a result computed once elsewhere
    let scans_of_t = |p: &str| count(p, "ScanExec default.t ");
    let reused_aggregates = |p: &str| {
        count(
            p,
            "ReusedExec (computed once for the query): HashAggregateExec",
        )
    };

    // a self-join of the CTE: one scan, one aggregate, read by both join inputs
    let q =
        format!("{cte}SELECT a.k, a.c, b.total FROM g a JOIN g b ON a.k = b.k + 1 ORDER BY a.k");
    let want = (1..10)
        .map(|k| {
            format!(
                "{k}\t100\t{}\n",
                (0..1000).filter(|i| i % 10 == k - 1).sum::<i64>()
            )
        })
        .collect::<String>();
    let p = text(&mut s, &format!("EXPLAIN ANALYZE {q}"));
    assert_eq!(scans_of_t(&p), 1, "{p}");
    assert_eq!(count(&p, "HashAggregateExec"), 2, "{p}");
    assert_eq!(
        count(
            &p,
            "ReusedExec (computed once for the query, read by each copy)"
        ),
        1,
        "{p}"
    );
    assert_eq!(reused_aggregates(&p), 1, "{p}");
    assert!(p.contains("[rows=1000 "), "{p}");
    assert_eq!(text(&mut s, &q), want);
    disable(&mut s, "reuse_subplans");
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 2, "{p}");
    assert_eq!(count(&p, "ReusedExec"), 0, "{p}");
    assert_eq!(text(&mut s, &q), want);
    disable(&mut s, "");

    // the CTE in the query and in a scalar subquery (TPC-H Q15's shape): the subquery's
    // aggregate result serves the query, which scans nothing of t itself
    let q = format!("{cte}SELECT k, total FROM g WHERE total = (SELECT max(total) FROM g)");
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 0, "{p}");
    assert_eq!(reused_aggregates(&p), 1, "{p}");
    assert_eq!(text(&mut s, &q), "9\t50400\n");
    disable(&mut s, "reuse_subplans");
    assert_eq!(scans_of_t(&text(&mut s, &format!("EXPLAIN {q}"))), 1);
    assert_eq!(text(&mut s, &q), "9\t50400\n");
    disable(&mut s, "");

    // a filter pushed into one copy only: two different aggregates, both computed
    let q = format!(
        "{cte}SELECT a.k, b.k FROM g a, g b WHERE a.k = 1 AND b.total < a.total ORDER BY b.k"
    );
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 2, "{p}");
    assert_eq!(count(&p, "ReusedExec"), 0, "{p}");
    assert_eq!(text(&mut s, &q), "1\t0\n");

    // a share of the total (TPC-H Q11's shape): the subquery's sum is the sum of the
    // query's per-group sums, so the grouped aggregate runs once for both
    let q = "SELECT k, sum(id) AS v FROM t WHERE id >= 100 GROUP BY k \
             HAVING sum(id) > (SELECT sum(id) * 0.1 FROM t WHERE id >= 100) ORDER BY k";
    // the total of ids 100..999 is 494550; groups 5..9 each hold more than a tenth of it
    let want: String = (5..10)
        .map(|k| {
            format!(
                "{k}\t{}\n",
                (100..1000).filter(|i| i % 10 == k).sum::<i64>()
            )
        })
        .collect();
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 0, "{p}");
    assert_eq!(reused_aggregates(&p), 1, "{p}");
    assert_eq!(text(&mut s, q), want);
    // over no rows the total is NULL, as a plain sum's: no group passes
    let empty = q.replace(">= 100", ">= 5000");
    assert_eq!(text(&mut s, &empty), "");
    // another filter in the subquery: a different input, computed by itself (a tenth of
    // the ids 200..999 is 47970: every group passes)
    let other = q.replace("FROM t WHERE id >= 100)", "FROM t WHERE id >= 200)");
    assert_eq!(scans_of_t(&text(&mut s, &format!("EXPLAIN {other}"))), 1);
    let all: String = (0..10)
        .map(|k| {
            format!(
                "{k}\t{}\n",
                (100..1000).filter(|i| i % 10 == k).sum::<i64>()
            )
        })
        .collect();
    assert_eq!(text(&mut s, &other), all);
    disable(&mut s, "reuse_subplans");
    assert_eq!(scans_of_t(&text(&mut s, &format!("EXPLAIN {q}"))), 1);
    assert_eq!(text(&mut s, q), want);
    disable(&mut s, "");

    // nondeterministic: the references to one CTE read one result (Spark does not
    // inline a nondeterministic CTE), so both sides see the same values...
    let q = "WITH r AS (SELECT k, sum(rand()) AS x FROM t GROUP BY k) \
             SELECT count(*), count_if(a.x = b.x) FROM r a JOIN r b ON a.k = b.k";
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 1, "{p}");
    assert_eq!(text(&mut s, q), "10\t10\n");
    // ...but two subqueries written alike each draw their own values
    let q = "SELECT count(*) FROM (SELECT k, sum(rand()) AS x FROM t GROUP BY k) a \
             JOIN (SELECT k, sum(rand()) AS x FROM t GROUP BY k) b ON a.k = b.k AND a.x = b.x";
    let p = text(&mut s, &format!("EXPLAIN {q}"));
    assert_eq!(scans_of_t(&p), 2, "{p}");
    assert_eq!(count(&p, "ReusedExec"), 0, "{p}");
    assert_eq!(text(&mut s, q), "0\n");
}

/// Join filters: an inner or semi join's build keys filter the probe-side scan while it
/// reads (the scan shows `join_filters=[...]` and, after a run, the rows kept); never
/// where a probe row without a partner is still returned (outer joins, an anti join
/// returning its probe side) or where a LIMIT stands between scan and join. Every
/// answer equals the one with `join_filters` disabled.
#[test]
fn join_filters_only_where_unmatched_probe_rows_are_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    s.sql("CREATE TABLE big USING parquet AS SELECT id, id % 1000 AS k, id * 2 AS v FROM range(200000)")
        .unwrap();
    s.sql("CREATE TABLE small USING parquet AS SELECT id AS k, id * 10 AS w FROM range(5)")
        .unwrap();
    let filtered = |p: &str| p.lines().filter(|l| l.contains("join_filters=")).count();
    let queries = [
        // (query, join filters expected)
        ("SELECT count(*), sum(v) FROM big JOIN small ON big.k = small.k", 1),
        // an uncorrelated IN runs first and becomes a value set in the scan's filters
        ("SELECT count(*), sum(v) FROM big WHERE k IN (SELECT k FROM small)", 0),
        ("SELECT count(*), sum(v) FROM big WHERE EXISTS (SELECT 1 FROM small WHERE small.k = big.k)", 1),
        ("SELECT count(*), sum(v) FROM big LEFT JOIN small ON big.k = small.k", 0),
        ("SELECT count(*), sum(w) FROM small RIGHT JOIN big ON big.k = small.k", 0),
        ("SELECT count(*), sum(v) FROM big FULL JOIN small ON big.k = small.k", 0),
        ("SELECT count(*), sum(v) FROM big WHERE NOT EXISTS (SELECT 1 FROM small WHERE small.k = big.k)", 0),
        ("SELECT count(*), sum(v) FROM (SELECT * FROM big LIMIT 150000) b JOIN small ON b.k = small.k", 0),
        // through a filter and a projection that renames the key
        ("SELECT count(*), sum(x) FROM (SELECT k AS kk, v AS x FROM big WHERE v > 10) b JOIN small ON b.kk = small.k", 1),
    ];
    let mut answers = vec![];
    for (q, want) in queries {
        let p = text(&mut s, &format!("EXPLAIN ANALYZE {q}"));
        assert_eq!(filtered(&p), want, "{q}\n{p}");
        if want > 0 {
            assert!(p.contains("(kept "), "{q}\n{p}");
        }
        answers.push(text(&mut s, q));
    }
    assert_eq!(answers[0], "1000\t199004000\n");
    assert_eq!(answers[3], "200000\t39999800000\n");
    s.sql("SET quarry.optimizer.disabled_rules = 'join_filters'")
        .unwrap();
    for ((q, _), a) in queries.iter().zip(&answers) {
        let p = text(&mut s, &format!("EXPLAIN {q}"));
        assert_eq!(filtered(&p), 0, "{q}\n{p}");
        assert_eq!(&text(&mut s, q), a, "{q}");
    }
}

/// The footer statistics MSCK REPAIR TABLE keeps per partition prune partitions on data
/// columns (no listing of their footers, no reads), only while the listing still shows
/// the files they were read from; REFRESH TABLE reads them again.
#[test]
fn stored_partition_statistics_prune_data_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let mut s = Session::open(&tmp.path().join("home"), Some(2), None).unwrap();
    for (k, (lo, day)) in [(0, "2020-01-01"), (100, "2021-01-01"), (200, "2022-01-01")]
        .iter()
        .enumerate()
    {
        s.sql(&format!(
            "CREATE TABLE p{k} USING parquet LOCATION '{}/k={k}' AS SELECT id, DATE '{day}' + CAST(id % 10 AS INT) AS d FROM range({lo}, {lo} + 10)",
            lake.display(),
        ))
        .unwrap();
    }
    s.sql(&format!(
        "CREATE EXTERNAL TABLE sp (id bigint, d date) PARTITIONED BY (k int) STORED AS PARQUET LOCATION '{}'",
        lake.display()
    ))
    .unwrap();
    s.sql("MSCK REPAIR TABLE sp").unwrap();
    let pruning = |s: &mut Session, q: &str| -> String {
        text(s, &format!("EXPLAIN ANALYZE {q}"))
            .lines()
            .find(|l| l.contains("partitions:"))
            .unwrap()
            .trim()
            .to_string()
    };
    let q = "SELECT count(*) FROM sp WHERE id = 105";
    assert_eq!(text(&mut s, q), "1\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 1 read, 2 pruned (2 by stored statistics)"
    );
    let q = "SELECT count(*) FROM sp WHERE d >= DATE '2021-06-01' OR id IS NULL";
    assert_eq!(text(&mut s, q), "10\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 1 read, 2 pruned (2 by stored statistics)"
    );
    // a file added to k=0 since MSCK: that partition is read again, the answer holds
    s.sql("INSERT INTO p0 SELECT 105, DATE '2020-01-01'")
        .unwrap();
    let q = "SELECT count(*) FROM sp WHERE id = 105";
    assert_eq!(text(&mut s, q), "2\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 2 read, 1 pruned (1 by stored statistics)"
    );
    s.sql("REFRESH TABLE sp").unwrap();
    assert_eq!(text(&mut s, q), "2\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 2 read, 1 pruned (1 by stored statistics)"
    );
    // strings have no stored range: nothing is pruned on them
    let q = "SELECT count(*) FROM sp WHERE CAST(id AS STRING) = '5'";
    assert_eq!(pruning(&mut s, q), "partitions: 3 read, 0 pruned");
    // without the statistics (autogather off), nothing is pruned by them
    s.sql("SET quarry.stats.autogather = false").unwrap();
    s.sql("ALTER TABLE sp DROP PARTITION (k = 2)").unwrap();
    s.sql(&format!(
        "ALTER TABLE sp ADD PARTITION (k = 2) LOCATION '{}/k=2'",
        lake.display()
    ))
    .unwrap();
    let q = "SELECT count(*) FROM sp WHERE id = 5";
    assert_eq!(text(&mut s, q), "1\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 2 read, 1 pruned (1 by stored statistics)"
    );
    // MSCK over more new partitions than quarry.stats.autogather.maxpartitions keeps
    // none; a scan keeps those of the partitions it reads, and the next scan uses them
    s.sql("RESET").unwrap();
    s.sql("SET quarry.stats.autogather.maxpartitions = 2")
        .unwrap();
    s.sql(&format!(
        "CREATE EXTERNAL TABLE sp2 (id bigint, d date) PARTITIONED BY (k int) STORED AS PARQUET LOCATION '{}'",
        lake.display()
    ))
    .unwrap();
    s.sql("MSCK REPAIR TABLE sp2").unwrap();
    let q = "SELECT count(*) FROM sp2 WHERE id >= 200";
    assert_eq!(pruning(&mut s, q), "partitions: 3 read, 0 pruned");
    let kept = text(&mut s, &format!("EXPLAIN ANALYZE {q}"));
    assert!(!kept.contains("partition statistics kept"), "{kept}");
    assert_eq!(text(&mut s, q), "10\n");
    assert_eq!(
        pruning(&mut s, q),
        "partitions: 1 read, 2 pruned (2 by stored statistics)"
    );
}

/// `subquery_to_window`: a correlated min/max/avg subquery over a table the query already
/// joins, under the same conditions, becomes a window over the outer rows (the table is
/// read once); sums, extra conditions on the shared table, and joins of the other tables
/// through a non-key column keep the join. Each answer is the same with the rule off and
/// the same as DuckDB's for these tables.
#[test]
fn correlated_aggregates_over_the_same_rows_become_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    // 200 items in 10 groups (grp = id % 10, NULL for ids 190..199), qty = id % 7;
    // every group key twice in `groups` (so each outer item row appears twice)
    s.sql("CREATE TABLE items USING parquet AS SELECT id, CASE WHEN id < 190 THEN id % 10 END AS grp, id % 7 AS qty FROM range(200)").unwrap();
    s.sql("CREATE TABLE groups USING parquet AS SELECT id % 10 AS g, id % 10 % 3 AS tag, id AS gid FROM range(20)").unwrap();
    let windowed = |s: &mut Session, q: &str| -> bool {
        text(s, &format!("EXPLAIN {q}")).contains("Window [")
    };
    let cases = [
        // (query, rewritten, answer: DuckDB 2.0.1 gives the same for each)
        (
            "SELECT count(*), sum(i.qty) FROM items i, groups gr WHERE gr.g = i.grp AND gr.tag = 1 \
             AND i.qty < (SELECT avg(qty) FROM items i2 WHERE i2.grp = gr.g)",
            true,
            "54\t64\n",
        ),
        (
            "SELECT count(*), sum(i.id) FROM items i, groups gr WHERE i.grp = gr.g AND gr.tag = 0 \
             AND i.qty = (SELECT min(qty) FROM items i2 WHERE i2.grp = gr.g)",
            true,
            "20\t1890\n",
        ),
        (
            "SELECT count(*), sum(i.id) FROM items i, groups gr WHERE gr.g = i.grp AND i.qty > 2 \
             AND gr.tag = 1 AND i.qty >= (SELECT max(qty) FROM items i2 WHERE i2.grp = gr.g AND i2.qty > 2)",
            true,
            "18\t1872\n",
        ),
        // a sum changes when rows repeat: kept as a join
        (
            "SELECT count(*) FROM items i, groups gr WHERE gr.g = i.grp \
             AND i.qty * 20 > (SELECT sum(qty) FROM items i2 WHERE i2.grp = gr.g)",
            false,
            "212\n",
        ),
        // the outer query keeps fewer items than the subquery reads
        (
            "SELECT count(*) FROM items i, groups gr WHERE gr.g = i.grp AND i.qty > 2 \
             AND i.qty > (SELECT avg(qty) FROM items i2 WHERE i2.grp = gr.g)",
            false,
            "188\n",
        ),
        // groups joins items through another column than the key
        (
            "SELECT count(*) FROM items i, groups gr WHERE gr.g = i.grp AND gr.gid = i.id \
             AND i.qty >= (SELECT avg(qty) FROM items i2 WHERE i2.grp = gr.g)",
            false,
            "8\n",
        ),
    ];
    for (q, rewritten, want) in cases {
        assert_eq!(windowed(&mut s, q), rewritten, "{q}");
        assert_eq!(text(&mut s, q), want, "{q}");
    }
    disable(&mut s, "subquery_to_window");
    for (q, _, want) in cases {
        assert!(!windowed(&mut s, q), "{q}");
        assert_eq!(text(&mut s, q), want, "{q}");
    }
}

/// `semi_join_reduction` on a plain scan: the build side of a composite-key join (`big_b`,
/// smaller than the other side) is first semi-joined with the filtered dimension one of
/// its keys equals through the other side's join (`b.k = f.k = a.k`, `a.grp = 1`), as
/// TPC-H Q09's partsupp with the '%green%' parts. The answer is DuckDB's and the same with
/// the rule off.
#[test]
fn a_build_side_scan_is_reduced_by_a_filtered_scan_behind_the_other_side() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    s.sql("CREATE TABLE fact USING parquet AS SELECT id, id % 100 AS k, id % 7 AS j FROM range(50000)").unwrap();
    s.sql("CREATE TABLE dim_a USING parquet AS SELECT id AS k, id % 5 AS grp FROM range(100)")
        .unwrap();
    s.sql("CREATE TABLE big_b USING parquet AS SELECT id % 100 AS k, id % 7 AS j, id AS v FROM range(5000)").unwrap();
    let q = "SELECT count(*), sum(b.v) FROM fact f, dim_a a, big_b b \
             WHERE f.k = a.k AND a.grp = 1 AND b.k = f.k AND b.j = f.j";
    let plan = text(&mut s, &format!("EXPLAIN {q}"));
    let semi = plan
        .lines()
        .position(|l| l.contains("Join LeftSemi on=[k#"))
        .unwrap_or_else(|| panic!("{plan}"));
    let below: Vec<&str> = plan.lines().skip(semi + 1).take(4).collect();
    assert!(below[0].contains("Scan default.big_b"), "{plan}");
    assert!(
        below[2].contains("Scan default.dim_a") && below[2].contains("filters=[(grp#"),
        "{plan}"
    );
    assert_eq!(text(&mut s, q), "71440\t178436840\n");
    disable(&mut s, "semi_join_reduction");
    assert!(!text(&mut s, &format!("EXPLAIN {q}")).contains("LeftSemi"));
    assert_eq!(text(&mut s, q), "71440\t178436840\n");
}

/// The estimated and actual rows of the first `HashJoinExec` line of an EXPLAIN ANALYZE.
fn join_est_and_rows(plan: &str) -> (f64, f64) {
    let line = plan
        .lines()
        .find(|l| l.contains("HashJoinExec Inner"))
        .unwrap_or_else(|| panic!("{plan}"));
    let field = |name: &str| -> f64 {
        let v = line
            .split(name)
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        let (num, scale) = match v.strip_suffix('K') {
            Some(n) => (n, 1e3),
            None => (v, 1.0),
        };
        num.parse::<f64>().unwrap() * scale
    };
    (field(" est="), field("[rows="))
}

#[test]
fn join_samples_catch_filters_correlated_through_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Session::open(tmp.path(), Some(2), None).unwrap();
    // orders-like: one row per key, its date a permutation of the keys (as TPC-H's order
    // dates are random in the order key); lineitem-like: four rows per key, shipped 1 to
    // 4 days after their order. Orders before day 10000 whose lines ship after it are
    // the last three days' (6 lines). Each table is written in key order by 8 INSERTs
    // (8 files whose key ranges do not overlap), as a table stored in key order.
    s.sql("CREATE TABLE ord (ok BIGINT, odate BIGINT) USING parquet")
        .unwrap();
    s.sql("CREATE TABLE line (lk BIGINT, sdate BIGINT) USING parquet")
        .unwrap();
    for k in 0..8 {
        s.sql(&format!(
            "INSERT INTO ord SELECT id, id * 7919 % 20000 FROM range({}, {})",
            k * 2500,
            (k + 1) * 2500
        ))
        .unwrap();
        s.sql(&format!(
            "INSERT INTO line SELECT id DIV 4, (id DIV 4) * 7919 % 20000 + id % 4 + 1 \
             FROM range({}, {})",
            k * 10000,
            (k + 1) * 10000
        ))
        .unwrap();
    }
    let q = "SELECT count(*) FROM ord JOIN line ON ok = lk WHERE odate < 10000 AND sdate > 10000";
    assert_eq!(text(&mut s, q), "6\n");
    // independence: 10000 orders x ~40000 lines / 20000 keys = ~20000 rows
    let (est, rows) = join_est_and_rows(&text(&mut s, &format!("EXPLAIN ANALYZE {q}")));
    assert_eq!(rows, 6.0);
    assert!(est <= 30.0, "sampled estimate {est}");
    disable(&mut s, "join_sampling");
    let (est, _) = join_est_and_rows(&text(&mut s, &format!("EXPLAIN ANALYZE {q}")));
    assert!(est > 10000.0, "independence estimate {est}");
    // uncorrelated filters: the sample confirms independence (the estimate stays within
    // 1.5x of the unsampled one, whatever the filters' own estimates)
    let q = "SELECT count(*) FROM ord JOIN line ON ok = lk WHERE odate % 2 = 0 AND sdate % 3 = 0";
    assert_eq!(text(&mut s, q), "13333\n");
    let (independent, _) = join_est_and_rows(&text(&mut s, &format!("EXPLAIN ANALYZE {q}")));
    disable(&mut s, "");
    let (est, _) = join_est_and_rows(&text(&mut s, &format!("EXPLAIN ANALYZE {q}")));
    assert!(
        est / independent < 1.5 && independent / est < 1.5,
        "{est} vs {independent}"
    );
    // row groups whose key ranges span all of BIGINT: no overflow working out the range
    s.sql("CREATE TABLE wide (k BIGINT, v INT) USING parquet")
        .unwrap();
    s.sql("INSERT INTO wide VALUES (-9223372036854775807 - 1, 1), (9223372036854775807, 2)")
        .unwrap();
    s.sql("INSERT INTO wide VALUES (-9223372036854775807, 3), (9223372036854775807, 4)")
        .unwrap();
    let q = "SELECT count(*) FROM wide a JOIN wide b ON a.k = b.k WHERE a.v > 0 AND b.v > 0";
    assert_eq!(text(&mut s, q), "6\n");
    // an unknown name is still refused
    assert!(s
        .sql("SET quarry.optimizer.disabled_rules = 'join_sampling,nope'")
        .is_err());
}
