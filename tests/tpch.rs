//! TPC-H at scale factor 0.01: generate the data with Quarry's generator, run the 22
//! queries, and compare every answer with `tests/tpch/answers-sf0.01/qNN.csv` (DuckDB's
//! answers on the same files, written by `COPY ... TO ... (HEADER)`; numbers within 0.01
//! absolute or 1e-10 relative). One edit: DuckDB writes Q17's lone NULL as an empty line,
//! which CSV readers skip; the file has `""` there, as Quarry's CSV prints a NULL.

use quarry::{tpch, Session};

#[test]
fn tpch_sf001_answers_match_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("sf0.01");
    let mut session = Session::open(&tmp.path().join("home"), Some(2), None).unwrap();
    let g = tpch::generate(0.01, &data, 2, session.pool()).unwrap();
    assert!(g.created);
    assert_eq!(g.files, 14);
    // a second call sees the complete data set and leaves it alone
    assert!(
        !tpch::generate(0.01, &data, 2, session.pool())
            .unwrap()
            .created
    );

    tpch::register(&mut session, &data).unwrap();
    let answers =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tpch/answers-sf0.01");
    let mut failures = vec![];
    for q in 1..=22 {
        let expected = std::fs::read_to_string(answers.join(format!("q{q:02}.csv"))).unwrap();
        match tpch::run_query(&mut session, q).and_then(|r| tpch::result_csv(&r)) {
            Ok(actual) => {
                if let Err(d) = tpch::compare_csv(&expected, &actual) {
                    failures.push(format!("q{q:02}: {d}"));
                }
            }
            Err(e) => failures.push(format!("q{q:02}: error: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_comparison_catches_differences() {
    let e = "a,b\n1,x\n2.5,y\n";
    assert_eq!(tpch::compare_csv(e, "a,b\n1,x\n2.5,y\n"), Ok(false));
    assert_eq!(tpch::compare_csv(e, "a,b\n1.000,x\n2.501,y\n"), Ok(false));
    assert_eq!(tpch::compare_csv(e, "a,b\n2.5,y\n1,x\n"), Ok(true));
    assert!(tpch::compare_csv(e, "a,b\n1,x\n2.6,y\n").is_err());
    assert!(tpch::compare_csv(e, "a,b\n1,x\n").is_err());
    assert!(tpch::compare_csv(e, "a,c\n1,x\n2.5,y\n").is_err());
}
