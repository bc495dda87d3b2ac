//! Result output: comfy-table for people; CSV, TSV, JSON (array of objects) and NDJSON
//! for scripts. Values are rendered as Spark prints them (see `format`).

use std::io::Write;

use arrow::array::Array;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::error::{QuarryError, Result};
use crate::format::format_value;
use crate::session::StatementResult;

/// Output formats of `--format` and `\format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Tsv,
    Json,
    Ndjson,
}

fn io_err(e: std::io::Error) -> QuarryError {
    QuarryError::Data(format!("cannot write output: {e}"))
}

fn rows(r: &StatementResult, limit: usize) -> Vec<Vec<Option<String>>> {
    let mut out = vec![];
    for b in &r.batches {
        for i in 0..b.num_rows() {
            if out.len() >= limit {
                return out;
            }
            out.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            None
                        } else {
                            Some(format_value(c.as_ref(), i))
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

fn json_value(a: &dyn Array, i: usize) -> serde_json::Value {
    use arrow::datatypes::DataType::*;
    if a.is_null(i) {
        return serde_json::Value::Null;
    }
    let s = format_value(a, i);
    match a.data_type() {
        Boolean => serde_json::Value::Bool(s == "true"),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => s
            .parse::<i64>()
            .map(Into::into)
            .unwrap_or(serde_json::Value::String(s)),
        // a float as the double its printed digits stand for (3.14, not 3.140000104904175)
        Float32 => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::String(s)),
        Float64 => {
            let v = arrow::compute::cast(&a.slice(i, 1), &Float64)
                .ok()
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<arrow::array::Float64Array>()
                        .map(|f| f.value(0))
                });
            v.and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::String(s))
        }
        _ => serde_json::Value::String(s),
    }
}

/// Write a result. `max_rows` bounds the table format (a "N more rows" line follows).
pub fn write_result(
    w: &mut dyn Write,
    r: &StatementResult,
    format: OutputFormat,
    max_rows: usize,
) -> Result<()> {
    let names: Vec<String> = r.schema.fields().iter().map(|f| f.name().clone()).collect();
    if names.is_empty() {
        return Ok(());
    }
    let total = r.num_rows();
    match format {
        OutputFormat::Table => {
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(names.clone());
            for row in rows(r, max_rows) {
                t.add_row(
                    row.into_iter()
                        .map(|v| v.unwrap_or_else(|| "NULL".into()))
                        .collect::<Vec<_>>(),
                );
            }
            writeln!(w, "{t}").map_err(io_err)?;
            if total > max_rows {
                writeln!(w, "... {} more rows (showing the first {max_rows}; SET quarry.cli.max_rows = N to change)", total - max_rows).map_err(io_err)?;
            }
        }
        OutputFormat::Csv | OutputFormat::Tsv => {
            let delim = if format == OutputFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let mut cw = csv::WriterBuilder::new()
                .delimiter(delim)
                .from_writer(vec![]);
            cw.write_record(&names)
                .map_err(|e| QuarryError::Data(e.to_string()))?;
            for row in rows(r, usize::MAX) {
                cw.write_record(row.into_iter().map(|v| v.unwrap_or_default()))
                    .map_err(|e| QuarryError::Data(e.to_string()))?;
            }
            let bytes = cw
                .into_inner()
                .map_err(|e| QuarryError::Data(e.to_string()))?;
            w.write_all(&bytes).map_err(io_err)?;
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let mut objs = vec![];
            for b in &r.batches {
                for i in 0..b.num_rows() {
                    let mut m = serde_json::Map::new();
                    for (n, c) in names.iter().zip(b.columns()) {
                        m.insert(n.clone(), json_value(c.as_ref(), i));
                    }
                    objs.push(serde_json::Value::Object(m));
                }
            }
            if format == OutputFormat::Json {
                writeln!(w, "{}", serde_json::Value::Array(objs)).map_err(io_err)?;
            } else {
                for o in objs {
                    writeln!(w, "{o}").map_err(io_err)?;
                }
            }
        }
    }
    Ok(())
}
