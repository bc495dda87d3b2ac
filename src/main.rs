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
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
