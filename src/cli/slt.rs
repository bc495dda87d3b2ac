//! `quarry --slt-jsonl`: the sqllogictest-rs external-engine protocol, so other engines'
//! test suites (`../shared/conformance`, or `sqllogictest --engine external`) can run
//! against Quarry.
//!
//! Input: a stream of JSON objects `{"sql": "..."}` on stdin (one per line, or back to
//! back with no separator: the input is decoded as a JSON stream, not as lines).
//! Output: one JSON line per request on stdout, `{"result": [["1", "NULL", "(empty)"]]}`
//! (values rendered as Spark prints them, the empty string as `(empty)`; booleans
//! are JSON booleans) or
//! `{"err": "one-line message"}`. A failing statement never ends the process.

use std::io::{BufRead, Write};

use arrow::array::{Array, AsArray};

use crate::error::{QuarryError, Result};
use crate::format::format_value;
use crate::session::{Session, StatementResult};

/// One request of the protocol.
#[derive(serde::Deserialize)]
struct Request {
    sql: String,
}

/// One value as sqllogictest files write it: `NULL`, `(empty)` for the empty string,
/// else Spark's text of the value.
pub fn cell_text(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return "NULL".to_string();
    }
    let s = format_value(a, i);
    if s.is_empty() {
        "(empty)".to_string()
    } else {
        s
    }
}

/// Render a result's rows: `NULL`, `(empty)`, booleans as JSON `true`/`false` (the
/// runner prints them as Spark does, or as `1`/`0` in SQLite's integer columns), else
/// Spark's text of the value.
pub fn result_rows(r: &StatementResult) -> Vec<Vec<serde_json::Value>> {
    let mut rows = Vec::with_capacity(r.num_rows());
    for b in &r.batches {
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .map(|c| match c.as_boolean_opt() {
                        Some(b) if c.is_valid(i) => b.value(i).into(),
                        _ => cell_text(c.as_ref(), i).into(),
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// Run a request: one statement, or several separated by `;` (as a script: they run in
/// order, the first error ends the request, and the last statement's result is the
/// request's). Text with no statement is given to the parser whole, for its error.
pub fn run_request(session: &mut Session, sql: &str) -> Result<StatementResult> {
    let statements = crate::parser::split_statements(sql);
    if statements.len() <= 1 {
        return session.sql(sql);
    }
    let mut last = None;
    for st in &statements {
        last = Some(session.sql(st)?);
    }
    last.ok_or_else(|| QuarryError::Internal("a request of no statements".into()))
}

fn answer(session: &mut Session, sql: &str) -> serde_json::Value {
    match run_request(session, sql) {
        Ok(r) => serde_json::json!({ "result": result_rows(&r) }),
        Err(e) => serde_json::json!({ "err": e.to_string().replace('\n', " ") }),
    }
}

/// Serve requests from `input` until it ends; answers go to `out`.
/// Errors: only I/O errors on `out` (a malformed request is answered with `err`).
pub fn serve(session: &mut Session, input: impl BufRead, out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| QuarryError::Data(format!("cannot write output: {e}"));
    let stream = serde_json::Deserializer::from_reader(input).into_iter::<Request>();
    for req in stream {
        let resp = match req {
            Ok(r) => answer(session, &r.sql),
            Err(e) if e.is_eof() => break,
            Err(e) if e.is_io() => {
                return Err(QuarryError::Data(format!("cannot read input: {e}")))
            }
            Err(e) => {
                // the stream cannot be resynchronised after a syntax error
                let v = serde_json::json!({ "err": format!("bad request: {e}") });
                writeln!(out, "{v}").map_err(io)?;
                out.flush().map_err(io)?;
                return Err(QuarryError::Data(format!("bad request: {e}")));
            }
        };
        writeln!(out, "{resp}").map_err(io)?;
        out.flush().map_err(io)?;
    }
    Ok(())
}
