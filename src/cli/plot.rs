//! `pybench plot RESULTS`: SVG charts and an `index.html` for a finished (or interrupted) run.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A results directory or its results.json.
    results: PathBuf,
    /// Where to write `plots/*.svg` and `index.html` (default: the results directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        super::guard::check_directory("--out", out)?;
    }
    let results = crate::compare::load(&args.results)?;
    let dir = match args.out {
        Some(d) => d,
        None if args.results.is_dir() => args.results.clone(),
        None => args
            .results
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let written = crate::plot::write_plots(&results, &dir)?;
    if !args.quiet {
        // `written` holds index.html beside the SVG files.
        let svgs = written
            .iter()
            .filter(|p| p.extension() == Some("svg".as_ref()));
        eprintln!(
            "{} plot(s) written; open {}",
            svgs.count(),
            dir.join("index.html").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
