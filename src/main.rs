use altsim::inspect;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Deterministic backtesting and paper trading for the Altmarkets (Peatio/ranger) exchange.
#[derive(Parser)]
#[command(name = "altsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarize captures: markets, time span, frames by kind, sequence gaps, traded volume and
    /// the book at the end. Several files are read as one stream, in the order given.
    Inspect {
        /// Capture files (plain, gzip or zstd; with or without an altsim header).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Market rules (a `public/markets` answer) for captures without a header
        /// [default: markets.json beside the first capture].
        #[arg(long)]
        markets: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { files, markets } => run_inspect(files, markets),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("altsim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inspect(files: Vec<PathBuf>, markets: Option<PathBuf>) -> Result<(), String> {
    let rules = inspect::default_markets(markets.as_deref(), &files)?;
    let report = inspect::inspect(files, rules).map_err(|e| e.to_string())?;
    print!("{report}");
    Ok(())
}
