//! The command line: arguments, one-shot mode (`-e`, `-f`, stdin) and the REPL.
//! Every meta command maps to SQL (`\d` -> `SHOW TABLES`, `\d t` -> `DESCRIBE t`).

pub mod bench;
pub mod output;
pub mod repl;
pub mod slt;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::Parser;

use crate::error::{QuarryError, Result};
use crate::parser::split_statements;
use crate::session::Session;
pub use output::OutputFormat;

/// Quarry: SQL over data lakes (Spark SQL / Athena dialect).
#[derive(Parser, Debug)]
#[command(name = "quarry", version, about)]
pub struct Args {
    /// Run SQL (repeatable; each may hold several statements separated by `;`).
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    pub execute: Vec<String>,
    /// Run a SQL script file (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Quarry home: metastore and warehouse (default ~/.quarry).
    #[arg(
        long,
        visible_alias = "warehouse",
        env = "QUARRY_HOME",
        value_name = "DIR",
        global = true
    )]
    pub home: Option<PathBuf>,
    /// Folder of catalog definitions (default: ./catalog when present).
    #[arg(long, env = "QUARRY_CATALOG_DIR", value_name = "DIR")]
    pub catalog_dir: Option<PathBuf>,
    /// Worker threads (default: all cores); `SET quarry.execution.threads = N` changes it
    /// in a session.
    #[arg(long, value_name = "N", global = true)]
    pub threads: Option<usize>,
    /// Set a session variable before running, `KEY=VALUE`, as `SET KEY = VALUE`
    /// (repeatable; `${KEY}` in the SQL reads it): the spark-sql CLI's `--hivevar`,
    /// also spelled `--define`, `-d` and `--hiveconf`.
    #[arg(
        long = "hivevar",
        short = 'd',
        visible_aliases = ["define", "hiveconf"],
        value_name = "KEY=VALUE"
    )]
    pub vars: Vec<String>,
    /// Keep going after a failing statement (exit status is still 1).
    #[arg(long)]
    pub continue_on_error: bool,
    /// Print elapsed time after each statement.
    #[arg(long)]
    pub timing: bool,
    /// Serve the sqllogictest external-engine JSON protocol on stdin/stdout
    /// (`{"sql": ...}` in, `{"result": [[...]]}` or `{"err": ...}` out).
    #[arg(long, conflicts_with_all = ["execute", "file"])]
    pub slt_jsonl: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands (without one, quarry runs SQL: `-e`, `-f`, stdin or the REPL).
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Benchmark: `quarry bench tpch --sf 1 --threads 2 --runs 5` generates TPC-H data
    /// when missing, runs the 22 queries and prints median/min/max seconds and peak RSS.
    Bench(bench::BenchArgs),
}

/// The home folder: `--home`, `QUARRY_HOME`, else `~/.quarry`.
pub fn home_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.unwrap_or_else(|| {
        dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".quarry")
    })
}

/// Entry point of the binary; returns the process exit code.
pub fn main_with_args(args: Args) -> i32 {
    let home = home_dir(args.home.clone());
    let catalog_dir = args.catalog_dir.clone().or_else(|| {
        let d = PathBuf::from("catalog");
        d.is_dir().then_some(d)
    });
    let mut session = match Session::open(&home, args.threads, catalog_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    for var in &args.vars {
        let Some((k, v)) = var.split_once('=') else {
            eprintln!("Error: --hivevar takes KEY=VALUE, got '{var}'");
            return 1;
        };
        if let Err(e) = session.set_variable(k.trim(), v) {
            eprintln!("Error: {e}");
            return 1;
        }
    }
    if let Some(Command::Bench(b)) = &args.command {
        let stdout = std::io::stdout();
        return match bench::run(&mut session, b, &mut stdout.lock()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        };
    }
    if args.slt_jsonl {
        let stdout = std::io::stdout();
        return match slt::serve(&mut session, std::io::stdin().lock(), &mut stdout.lock()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        };
    }
    let mut scripts: Vec<(String, String)> = args
        .execute
        .iter()
        .map(|s| ("-e".to_string(), s.clone()))
        .collect();
    for f in &args.file {
        match std::fs::read_to_string(f) {
            Ok(s) => scripts.push((f.display().to_string(), s)),
            Err(e) => {
                eprintln!("Error: cannot read {}: {e}", f.display());
                return 1;
            }
        }
    }
    if scripts.is_empty() && !std::io::stdin().is_terminal() {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("Error: cannot read standard input: {e}");
            return 1;
        }
        scripts.push(("stdin".into(), s));
    }
    if scripts.is_empty() {
        return repl::run(&mut session, args.format, args.timing);
    }
    let mut failed = false;
    let stdout = std::io::stdout();
    for (_, script) in scripts {
        for stmt in split_statements(&script) {
            let start = std::time::Instant::now();
            match run_one(&mut session, &stmt, args.format, &mut stdout.lock()) {
                Ok(()) => {
                    if args.timing {
                        eprintln!("Time: {:.3} s", start.elapsed().as_secs_f64());
                    }
                }
                Err(e) => {
                    eprintln!("Error: {e}");
                    failed = true;
                    if !args.continue_on_error {
                        return 1;
                    }
                }
            }
        }
    }
    i32::from(failed)
}

fn max_rows(session: &Session) -> usize {
    session
        .setting("quarry.cli.max_rows")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Run one statement and print its result.
pub fn run_one(
    session: &mut Session,
    sql: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let r = session.sql(sql)?;
    let limit = if format == OutputFormat::Table {
        max_rows(session)
    } else {
        usize::MAX
    };
    output::write_result(out, &r, format, limit)?;
    out.flush()
        .map_err(|e| QuarryError::Data(format!("cannot write output: {e}")))?;
    Ok(())
}
