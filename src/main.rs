//! The `quarry` binary: parse arguments, hand over to the CLI.

use clap::Parser;

fn main() {
    // A panic is a bug. The session turns one inside a statement into a one-line error
    // (the REPL goes on); here, one anywhere else still ends with a one-line error, not
    // Rust's multi-line report (set RUST_BACKTRACE to see that).
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let args = quarry::cli::Args::parse();
    let code = match std::panic::catch_unwind(|| quarry::cli::main_with_args(args)) {
        Ok(code) => code,
        Err(p) => {
            eprintln!("Error: {}", quarry::QuarryError::from_panic(p));
            1
        }
    };
    std::process::exit(code);
}

/// mimalloc: arrow allocates and frees many large buffers per query; glibc's malloc keeps
/// freed memory mapped (peak RSS stays at the largest query's), and is slower here.
/// Version 2 (the `v2` feature): v3 keeps freed pages for a second before returning them,
/// which, with scans handing up a batch at a time, raised TPC-H SF10's peak RSS (Q16:
/// 282 MiB with v3, 193 with v2, 2 threads) at no gain in time (22 queries: 19.07 s
/// with v3, 18.66 s with v2).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
