//! `keel`: command-line tools for the Keel cross-margin engine.
//!
//! Numbers cross the command line as decimal strings in human units and are
//! converted to WAD exactly; every computation is done by `keel-risk`, the same
//! code the contract runs.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod decimal;
mod risk;

#[derive(Parser)]
#[command(name = "keel", version, about = "Keel cross-margin engine tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Risk calculator (the same fixed-point code as the contract).
    #[command(subcommand)]
    Risk(RiskCommand),
}

#[derive(Subcommand)]
enum RiskCommand {
    /// Black-76 price and greeks: JSON lines on stdin -> JSON lines on stdout.
    ///
    /// Input line: {"kind":"call","spot":"2000","strike":"2100","vol":"0.8","expiry_seconds":7776000}
    /// Output line: {"price":"…","delta":"…","gamma":"…","vega":"…"} (18 decimals),
    /// or {"error":"…"} for a bad line (processing continues).
    Price,
    /// Account margin (what-if) from one JSON document.
    Margin {
        /// Input file; "-" or absent reads stdin.
        file: Option<PathBuf>,
        /// Machine-readable JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Risk(RiskCommand::Price) => {
            risk::price::run(io::stdin().lock(), io::stdout().lock())
        }
        Command::Risk(RiskCommand::Margin { file, json }) => {
            let doc = match file {
                Some(p) if p.as_os_str() != "-" => std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?,
                _ => {
                    let mut s = String::new();
                    io::stdin()
                        .read_to_string(&mut s)
                        .context("reading stdin")?;
                    s
                }
            };
            let (input, converted, report) = risk::margin::compute(&doc)?;
            let mut out = io::stdout().lock();
            if json {
                writeln!(out, "{}", risk::margin::report_json(&input, &report))?;
            } else {
                write!(
                    out,
                    "{}",
                    risk::margin::report_text(&input, &converted, &report)
                )?;
            }
            Ok(())
        }
    }
}
