//! Helpers shared by the integration tests.

pub mod s3_server;

/// The rows of a statement's result, cells as the sqllogictest runner prints them,
/// joined by `sep`, one string per row. Panics (naming the SQL) when it fails.
#[allow(dead_code)]
pub fn result_lines(session: &mut quarry::Session, sql: &str, sep: &str) -> Vec<String> {
    let r = session.sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = vec![];
    for b in &r.batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| quarry::cli::slt::cell_text(c.as_ref(), i))
                .collect();
            out.push(cells.join(sep));
        }
    }
    out
}
