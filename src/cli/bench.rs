//! `quarry bench tpch`: generate TPC-H data if missing, register the tables, run each
//! query (warm-up, then timed runs) in this process, and print per-query median / min /
//! max seconds and peak RSS; optionally check answers against reference CSVs and write
//! JSON lines for a peer script (`bench/tpch_vs_duckdb.py`) to compare with.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::error::{QuarryError, Result};
use crate::session::Session;
use crate::tpch;

/// A benchmark suite.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// The 22 TPC-H queries over generated parquet.
    Tpch,
}

/// Arguments of `quarry bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// The suite to run.
    #[arg(value_enum)]
    pub suite: Suite,
    /// Scale factor (1 = 6 million lineitem rows, about 360 MB of parquet).
    #[arg(long, default_value_t = 1.0)]
    pub sf: f64,
    /// Data folder: one folder per table (default: `<home>/tpch/sf<SF>`); generated when
    /// it holds no complete data set.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Files per table when generating (default: max(2, ceil(SF))).
    #[arg(long)]
    pub parts: Option<usize>,
    /// Timed runs per query.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Untimed warm-up runs per query.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Queries to run, e.g. `1,3,5-7` (default: all 22).
    #[arg(long, value_name = "LIST")]
    pub queries: Option<String>,
    /// Folder of reference answers `qNN.csv` (with a header) to check each query's
    /// result against.
    #[arg(long, value_name = "DIR")]
    pub answers: Option<PathBuf>,
    /// Also write one JSON object per query to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Generate the data and stop.
    #[arg(long)]
    pub generate_only: bool,
}

/// Parse `1,3,5-7` into query numbers 1..=22.
pub fn parse_query_list(s: &str) -> Result<Vec<usize>> {
    let bad = || {
        QuarryError::Analysis(format!(
            "--queries: expected numbers from 1 to 22 like 1,3,5-7, got '{s}'"
        ))
    };
    let mut out = vec![];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().map_err(|_| bad())?,
                b.trim().parse::<usize>().map_err(|_| bad())?,
            ),
            None => {
                let n = part.parse::<usize>().map_err(|_| bad())?;
                (n, n)
            }
        };
        if a < 1 || b > 22 || a > b {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Reset the kernel's peak-RSS mark of this process (Linux: `/proc/self/clear_refs`).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size of this process since the last reset, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One query's measurements.
#[derive(serde::Serialize)]
struct QueryReport {
    query: String,
    rows: Option<usize>,
    times_s: Vec<f64>,
    median_s: Option<f64>,
    min_s: Option<f64>,
    max_s: Option<f64>,
    peak_rss_mib: Option<f64>,
    check: Option<String>,
    error: Option<String>,
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

fn run_query(session: &mut Session, q: usize, args: &BenchArgs) -> QueryReport {
    let name = format!("q{q:02}");
    let mut rep = QueryReport {
        query: name.clone(),
        rows: None,
        times_s: vec![],
        median_s: None,
        min_s: None,
        max_s: None,
        peak_rss_mib: None,
        check: None,
        error: None,
    };
    let rss_ok = reset_peak_rss();
    let mut first: Option<crate::session::StatementResult> = None;
    for i in 0..(args.warmup + args.runs.max(1)) {
        let t = Instant::now();
        match tpch::run_query(session, q) {
            Ok(r) => {
                let secs = t.elapsed().as_secs_f64();
                if i >= args.warmup {
                    rep.times_s.push(secs);
                }
                if first.is_none() {
                    first = Some(r);
                }
            }
            Err(e) => {
                rep.error = Some(e.to_string());
                return rep;
            }
        }
    }
    if rss_ok {
        rep.peak_rss_mib = peak_rss_mib();
    }
    rep.median_s = median(&rep.times_s);
    rep.min_s = rep.times_s.iter().copied().reduce(f64::min);
    rep.max_s = rep.times_s.iter().copied().reduce(f64::max);
    if let Some(r) = &first {
        rep.rows = Some(r.batches.iter().map(|b| b.num_rows()).sum());
        if let Some(dir) = &args.answers {
            let path = dir.join(format!("{name}.csv"));
            rep.check = Some(
                match (std::fs::read_to_string(&path), tpch::result_csv(r)) {
                    (Err(e), _) => format!("no answer: cannot read {}: {e}", path.display()),
                    (_, Err(e)) => format!("wrong: {e}"),
                    (Ok(expected), Ok(actual)) => match tpch::compare_csv(&expected, &actual) {
                        Ok(false) => "ok".into(),
                        Ok(true) => "ok (row order differs: ties)".into(),
                        Err(d) => format!("wrong: {d}"),
                    },
                },
            );
        }
    }
    rep
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// Run `quarry bench`; returns the process exit code (1 when a query failed or gave a
/// wrong answer).
pub fn run(session: &mut Session, args: &BenchArgs, out: &mut dyn Write) -> Result<i32> {
    let Suite::Tpch = args.suite;
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| session.home().join("tpch").join(tpch::sf_folder(args.sf)));
    let queries = match &args.queries {
        Some(s) => parse_query_list(s)?,
        None => (1..=22).collect(),
    };
    let threads = session.threads();
    let io = |e: std::io::Error| QuarryError::Data(format!("cannot write the report: {e}"));
    let parts = args.parts.unwrap_or_else(|| tpch::default_parts(args.sf));
    let t = Instant::now();
    let g = tpch::generate(args.sf, &dir, parts, session.pool())?;
    if g.created {
        writeln!(
            out,
            "generated TPC-H SF{} into {}: {} files, {} rows, {:.1} s",
            args.sf,
            dir.display(),
            g.files,
            g.rows,
            t.elapsed().as_secs_f64()
        )
        .map_err(io)?;
    }
    if args.generate_only {
        if !g.created {
            writeln!(out, "TPC-H SF{} already in {}", args.sf, dir.display()).map_err(io)?;
        }
        return Ok(0);
    }
    tpch::register(session, &dir)?;
    writeln!(
        out,
        "TPC-H SF{}, {threads} thread(s), {} warm-up + {} timed run(s) per query, data {}",
        args.sf,
        args.warmup,
        args.runs.max(1),
        dir.display()
    )
    .map_err(io)?;
    writeln!(
        out,
        "{:<6} {:>7} {:>9} {:>9} {:>9} {:>10}  check",
        "query", "rows", "median_s", "min_s", "max_s", "peak_MiB"
    )
    .map_err(io)?;
    let mut json = match &args.json {
        Some(p) => Some(
            std::fs::File::create(p)
                .map_err(|e| QuarryError::Data(format!("cannot create {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let (mut total, mut failed) = (0.0, 0);
    for q in queries {
        let rep = run_query(session, q, args);
        total += rep.median_s.unwrap_or(0.0);
        let bad = rep.error.is_some() || rep.check.as_deref().is_some_and(|c| !c.starts_with("ok"));
        failed += usize::from(bad);
        let check = match (&rep.error, &rep.check) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(c)) => c.clone(),
            (None, None) => String::new(),
        };
        writeln!(
            out,
            "{:<6} {:>7} {:>9} {:>9} {:>9} {:>10}  {check}",
            rep.query,
            rep.rows
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            fmt_opt(rep.median_s, 3),
            fmt_opt(rep.min_s, 3),
            fmt_opt(rep.max_s, 3),
            fmt_opt(rep.peak_rss_mib, 0)
        )
        .map_err(io)?;
        out.flush().map_err(io)?;
        if let Some(f) = json.as_mut() {
            let line = serde_json::to_string(&rep)
                .map_err(|e| QuarryError::Internal(format!("report as JSON: {e}")))?;
            writeln!(f, "{line}").map_err(io)?;
        }
    }
    writeln!(
        out,
        "total (sum of medians): {total:.3} s{}",
        if failed > 0 {
            format!("; {failed} query(ies) failed")
        } else {
            String::new()
        }
    )
    .map_err(io)?;
    Ok(i32::from(failed > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lists() {
        assert_eq!(parse_query_list("1,3,5-7").unwrap(), vec![1, 3, 5, 6, 7]);
        assert_eq!(parse_query_list(" 22 ").unwrap(), vec![22]);
        assert!(parse_query_list("0").is_err());
        assert!(parse_query_list("3-1").is_err());
        assert!(parse_query_list("23").is_err());
        assert!(parse_query_list("x").is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
