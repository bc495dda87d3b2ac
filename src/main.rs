//! The `quarry` binary: parse arguments, hand over to the CLI.

use clap::Parser;

fn main() {
    // panics are turned into errors by the session; keep stderr to the one-line error
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let args = quarry::cli::Args::parse();
    std::process::exit(quarry::cli::main_with_args(args));
}
