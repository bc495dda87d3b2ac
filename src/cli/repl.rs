//! The REPL (rustyline): history in `~/.quarry_history`, multi-line input until `;`,
//! Ctrl-C clears the line (or cancels a running query), Ctrl-D exits.
//! Meta commands: `\?` help, `\q` quit, `\d` tables, `\d t` describe,
//! `\timing on|off`, `\format table|csv|tsv|json|ndjson`.

use std::sync::atomic::Ordering;

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use super::{run_one, OutputFormat};
use crate::parser::is_complete;
use crate::session::Session;

const HELP: &str = "\
SQL statements end with ';' and may span lines. Meta commands:
  \\?                 this help
  \\q                 quit (or Ctrl-D)
  \\d                 list tables            (SHOW TABLES)
  \\d NAME            describe a table       (DESCRIBE NAME)
  \\dn                list databases         (SHOW DATABASES)
  \\timing on|off     print elapsed time after each statement
  \\format FMT        table, csv, tsv, json or ndjson
Ctrl-C clears the input or cancels the running query.";

/// Map a meta command to SQL, or handle it; returns Some(sql) to run.
fn meta(cmd: &str, format: &mut OutputFormat, timing: &mut bool) -> Result<Option<String>, String> {
    let parts: Vec<&str> = cmd.split_whitespace().collect();
    match parts.as_slice() {
        ["\\?"] | ["\\h"] | ["\\help"] => {
            println!("{HELP}");
            Ok(None)
        }
        ["\\d"] => Ok(Some("SHOW TABLES".into())),
        ["\\d", name] => Ok(Some(format!("DESCRIBE {name}"))),
        ["\\dn"] => Ok(Some("SHOW DATABASES".into())),
        ["\\timing", v] => {
            *timing = match *v {
                "on" => true,
                "off" => false,
                other => return Err(format!("\\timing takes on or off, not '{other}'")),
            };
            println!("Timing is {}.", if *timing { "on" } else { "off" });
            Ok(None)
        }
        ["\\timing"] => {
            *timing = !*timing;
            println!("Timing is {}.", if *timing { "on" } else { "off" });
            Ok(None)
        }
        ["\\format", f] => {
            *format = match *f {
                "table" => OutputFormat::Table,
                "csv" => OutputFormat::Csv,
                "tsv" => OutputFormat::Tsv,
                "json" => OutputFormat::Json,
                "ndjson" => OutputFormat::Ndjson,
                other => {
                    return Err(format!(
                        "unknown format '{other}' (table, csv, tsv, json, ndjson)"
                    ))
                }
            };
            Ok(None)
        }
        _ => Err(format!("unknown command '{cmd}'; \\? for help")),
    }
}

/// Run the interactive loop; returns the exit code.
pub fn run(session: &mut Session, mut format: OutputFormat, mut timing: bool) -> i32 {
    let mut rl = match DefaultEditor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the line editor: {e}");
            return 1;
        }
    };
    let history = dirs::home_dir().map(|h| h.join(".quarry_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let cancel = session.cancel_flag();
    // Ctrl-C while a query runs sets the cancel flag (the line editor handles it at the prompt)
    let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed));
    println!(
        "Quarry {} — SQL over data lakes. \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION")
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "quarry> "
        } else {
            "   ...> "
        };
        match rl.readline(prompt) {
            Ok(line) => {
                let trimmed = line.trim();
                if buffer.is_empty() && trimmed.starts_with('\\') {
                    let _ = rl.add_history_entry(trimmed);
                    if trimmed == "\\q" || trimmed == "\\quit" {
                        break;
                    }
                    match meta(trimmed, &mut format, &mut timing) {
                        Ok(Some(sql)) => execute(session, &sql, format, timing),
                        Ok(None) => {}
                        Err(e) => eprintln!("Error: {e}"),
                    }
                    continue;
                }
                if trimmed.is_empty() && buffer.is_empty() {
                    continue;
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if !is_complete(&buffer) {
                    continue;
                }
                let text = std::mem::take(&mut buffer);
                let _ = rl.add_history_entry(text.trim());
                for stmt in crate::parser::split_statements(&text) {
                    execute(session, &stmt, format, timing);
                }
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                println!("^C");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    0
}

fn execute(session: &mut Session, sql: &str, format: OutputFormat, timing: bool) {
    let start = std::time::Instant::now();
    let mut out = std::io::stdout();
    match run_one(session, sql, format, &mut out) {
        Ok(()) => {
            if timing {
                println!("Time: {:.3} s", start.elapsed().as_secs_f64());
            }
        }
        Err(e) => eprintln!("Error: {e}"),
    }
}
