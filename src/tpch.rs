//! TPC-H support for the benchmark and the tests: the 22 queries (`queries/tpch/`, the
//! spec's validation parameters), a data generator (the `tpchgen` / `tpchgen-arrow`
//! crates, a port of the spec's dbgen, written as parquet), view registration, and the
//! result comparison used against reference answers.
//!
//! Data layout (the same as `tpchgen-cli parquet`, which the peer harness uses): one
//! folder per table, `<dir>/<table>/<table>.<part>.parquet`, snappy; nation and region
//! are one file each. A `.done` file marks a complete data set.

use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatchReader;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::error::{QuarryError, Result};
use crate::session::Session;

/// The eight tables, smallest first.
pub const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// The 22 queries, `QUERIES[0]` is Q1. Date arithmetic is pre-computed
/// (`date '1998-12-01' - interval '90' day` is written `date '1998-09-02'`), as in the
/// peer harness's portable set, so every engine runs the same text.
pub const QUERIES: [&str; 22] = [
    include_str!("../queries/tpch/q01.sql"),
    include_str!("../queries/tpch/q02.sql"),
    include_str!("../queries/tpch/q03.sql"),
    include_str!("../queries/tpch/q04.sql"),
    include_str!("../queries/tpch/q05.sql"),
    include_str!("../queries/tpch/q06.sql"),
    include_str!("../queries/tpch/q07.sql"),
    include_str!("../queries/tpch/q08.sql"),
    include_str!("../queries/tpch/q09.sql"),
    include_str!("../queries/tpch/q10.sql"),
    include_str!("../queries/tpch/q11.sql"),
    include_str!("../queries/tpch/q12.sql"),
    include_str!("../queries/tpch/q13.sql"),
    include_str!("../queries/tpch/q14.sql"),
    include_str!("../queries/tpch/q15.sql"),
    include_str!("../queries/tpch/q16.sql"),
    include_str!("../queries/tpch/q17.sql"),
    include_str!("../queries/tpch/q18.sql"),
    include_str!("../queries/tpch/q19.sql"),
    include_str!("../queries/tpch/q20.sql"),
    include_str!("../queries/tpch/q21.sql"),
    include_str!("../queries/tpch/q22.sql"),
];

/// Rows per parquet row group. A row group is the scan's unit of parallelism and of
/// min/max pruning: 128 Ki rows gives SF1's lineitem 46 morsels (enough to keep every
/// core busy to the end of a scan and to skip date ranges in Q6/Q14/Q15), each a few
/// MiB decoded, while keeping footers small (DuckDB's own files use 122,880).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Files per table (nation and region: always one): at least 2, else one per unit of
/// scale factor, so generation runs on every core and SF10 has 10 files per table as
/// `tpchgen-cli` is run by the peer harness.
pub fn default_parts(sf: f64) -> usize {
    (sf.ceil() as usize).clamp(2, 256)
}

/// The folder name of a scale factor under a data root: `sf1`, `sf0.01`, `sf10`.
pub fn sf_folder(sf: f64) -> String {
    format!("sf{sf}")
}

/// What [`generate`] did.
#[derive(Debug, Clone)]
pub struct Generated {
    /// false when a complete data set was already there.
    pub created: bool,
    pub files: usize,
    pub rows: u64,
}

fn gen_err(path: &Path, e: impl std::fmt::Display) -> QuarryError {
    QuarryError::Data(format!("cannot write TPC-H data {}: {e}", path.display()))
}

/// The generator of one table part (1-based `part` of `parts`), as arrow batches.
fn reader(
    table: &str,
    sf: f64,
    part: i32,
    parts: i32,
) -> Result<Box<dyn RecordBatchReader + Send>> {
    const BATCH: usize = 8192;
    Ok(match table {
        "region" => {
            Box::new(RegionArrow::new(RegionGenerator::new(sf, part, parts)).with_batch_size(BATCH))
        }
        "nation" => {
            Box::new(NationArrow::new(NationGenerator::new(sf, part, parts)).with_batch_size(BATCH))
        }
        "supplier" => Box::new(
            SupplierArrow::new(SupplierGenerator::new(sf, part, parts)).with_batch_size(BATCH),
        ),
        "customer" => Box::new(
            CustomerArrow::new(CustomerGenerator::new(sf, part, parts)).with_batch_size(BATCH),
        ),
        "part" => {
            Box::new(PartArrow::new(PartGenerator::new(sf, part, parts)).with_batch_size(BATCH))
        }
        "partsupp" => Box::new(
            PartSuppArrow::new(PartSuppGenerator::new(sf, part, parts)).with_batch_size(BATCH),
        ),
        "orders" => {
            Box::new(OrderArrow::new(OrderGenerator::new(sf, part, parts)).with_batch_size(BATCH))
        }
        "lineitem" => Box::new(
            LineItemArrow::new(LineItemGenerator::new(sf, part, parts)).with_batch_size(BATCH),
        ),
        other => {
            return Err(QuarryError::Internal(format!(
                "unknown TPC-H table {other}"
            )))
        }
    })
}

/// Write one table part to `path` (through a temporary name, so a killed run leaves no
/// half file under the final name). Returns the rows written.
fn write_part(table: &str, sf: f64, part: usize, parts: usize, path: &Path) -> Result<u64> {
    let r = reader(table, sf, part as i32, parts as i32)?;
    let tmp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| gen_err(&tmp, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut w =
        ArrowWriter::try_new(file, r.schema(), Some(props)).map_err(|e| gen_err(path, e))?;
    let mut rows = 0u64;
    for b in r {
        let b = b.map_err(|e| gen_err(path, e))?;
        rows += b.num_rows() as u64;
        w.write(&b).map_err(|e| gen_err(path, e))?;
    }
    w.close().map_err(|e| gen_err(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| gen_err(path, e))?;
    Ok(rows)
}

/// Generate TPC-H at scale factor `sf` into `dir` (`parts` files per table), on `pool`.
/// Does nothing when `dir/.done` exists; otherwise clears `dir` first.
/// Errors: a scale factor that is not positive, or any IO/parquet error (naming the file).
pub fn generate(sf: f64, dir: &Path, parts: usize, pool: &rayon::ThreadPool) -> Result<Generated> {
    if !(sf > 0.0 && sf.is_finite()) {
        return Err(QuarryError::Analysis(format!(
            "the TPC-H scale factor must be positive, got {sf}"
        )));
    }
    let done = dir.join(".done");
    if done.exists() {
        let files = TABLES
            .iter()
            .map(|t| {
                std::fs::read_dir(dir.join(t))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum();
        return Ok(Generated {
            created: false,
            files,
            rows: 0,
        });
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| gen_err(dir, e))?;
    }
    let parts = parts.max(1);
    let mut jobs: Vec<(&str, usize, usize, PathBuf)> = vec![];
    for t in TABLES {
        let folder = dir.join(t);
        std::fs::create_dir_all(&folder).map_err(|e| gen_err(&folder, e))?;
        let n = if matches!(t, "nation" | "region") {
            1
        } else {
            parts
        };
        for p in 1..=n {
            jobs.push((t, p, n, folder.join(format!("{t}.{p}.parquet"))));
        }
    }
    // biggest first, so the long lineitem parts start at once
    jobs.reverse();
    let rows: Vec<u64> = pool.install(|| {
        jobs.par_iter()
            .map(|(t, p, n, path)| write_part(t, sf, *p, *n, path))
            .collect::<Result<Vec<_>>>()
    })?;
    let total: u64 = rows.iter().sum();
    std::fs::write(
        &done,
        format!("TPC-H SF{sf}: {} files, {total} rows\n", jobs.len()),
    )
    .map_err(|e| gen_err(&done, e))?;
    Ok(Generated {
        created: true,
        files: jobs.len(),
        rows: total,
    })
}

/// Register the eight tables of `dir` in `session` as temporary views over their folders.
pub fn register(session: &mut Session, dir: &Path) -> Result<()> {
    for t in TABLES {
        let folder = dir.join(t);
        if !folder.is_dir() {
            return Err(QuarryError::Data(format!(
                "TPC-H table folder {} not found (generate the data first)",
                folder.display()
            )));
        }
        let path = folder.display().to_string().replace('\'', "\\'");
        session.sql(&format!(
            "CREATE OR REPLACE TEMPORARY VIEW {t} USING parquet OPTIONS (path '{path}')"
        ))?;
    }
    Ok(())
}

/// Compare a result (CSV with a header) with a reference answer (CSV with a header).
/// Cells are equal when their text is, or when both are numbers within 0.01 absolute or
/// 1e-10 relative (the peer harness's rule: it covers a floating sum's last digits and
/// the 2-decimal rounding of averages). Rows are compared in order, then, if that fails,
/// as sorted multisets (ties in ORDER BY may come in any order): `Ok(true)` means equal
/// only up to row order. Errors say the first difference.
pub fn compare_csv(expected: &str, actual: &str) -> std::result::Result<bool, String> {
    let parse = |s: &str| -> std::result::Result<Vec<Vec<String>>, String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(s.as_bytes());
        r.records()
            .map(|rec| {
                rec.map(|x| x.iter().map(|c| c.to_string()).collect())
                    .map_err(|e| e.to_string())
            })
            .collect()
    };
    let (e, a) = (parse(expected)?, parse(actual)?);
    if e.len() != a.len() {
        return Err(format!(
            "{} rows expected (with the header), {} returned",
            e.len(),
            a.len()
        ));
    }
    let cell_eq = |x: &str, y: &str| {
        x == y
            || match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
                (Ok(p), Ok(q)) => {
                    (p - q).abs() <= 0.01 || (p - q).abs() <= 1e-10 * p.abs().max(q.abs())
                }
                _ => false,
            }
    };
    let row_eq = |x: &Vec<String>, y: &Vec<String>| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| cell_eq(p, q))
    };
    let first_diff = e.iter().zip(&a).position(|(x, y)| !row_eq(x, y));
    let Some(i) = first_diff else {
        return Ok(false);
    };
    if i == 0 {
        return Err(format!("header: expected {:?}, got {:?}", e[0], a[0]));
    }
    let (mut es, mut as_) = (e[1..].to_vec(), a[1..].to_vec());
    es.sort();
    as_.sort();
    if es.iter().zip(&as_).all(|(x, y)| row_eq(x, y)) {
        return Ok(true);
    }
    Err(format!("row {i}: expected {:?}, got {:?}", e[i], a[i]))
}

/// A result as CSV with a header, as `--format csv` prints it.
pub fn result_csv(r: &crate::session::StatementResult) -> Result<String> {
    let mut buf = vec![];
    crate::cli::output::write_result(&mut buf, r, crate::cli::OutputFormat::Csv, usize::MAX)?;
    String::from_utf8(buf)
        .map_err(|e| QuarryError::Internal(format!("CSV output is not UTF-8: {e}")))
}

/// Run query `n` (1-based) and return its result.
pub fn run_query(session: &mut Session, n: usize) -> Result<crate::session::StatementResult> {
    let sql = QUERIES
        .get(n.wrapping_sub(1))
        .ok_or_else(|| QuarryError::Analysis(format!("TPC-H has queries 1 to 22, not {n}")))?;
    session.sql(sql)
}
