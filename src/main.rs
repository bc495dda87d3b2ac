//! The `quarry` binary: parse arguments, hand over to the CLI.

use clap::Parser;

fn main() {
    let args = quarry::cli::Args::parse();
    std::process::exit(quarry::cli::main_with_args(args));
}
