//! `pybench plot RESULTS`: SVG charts and an `index.html` for a finished (or interrupted) run.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A results directory or its results.json (or the --out folder of one run).
    results: PathBuf,
    /// Where to write `plots/*.svg` and `index.html` (default: the results directory).
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Replace an index.html or chart SVG that pybench did not write.
    ///
    /// Such a file is an index.html, or a plots/*.svg of a chart's name, in the folder written to;
    /// without --force it is refused, --out given or not.
    #[arg(long, short)]
    force: bool,
}

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        super::guard::check_directory("--out", out)?;
    }
    // The plots go beside the results.json read (in the run folder when given `run --out`'s).
    let file = crate::compare::results_file(&args.results)?;
    // Loaded from the path given, not `file`: a folder's results.json must be a regular file
    // (a FIFO there is refused, not waited on), a path given as the file may be a pipe.
    let results = crate::compare::load(&args.results)?;
    let own = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = args.out.unwrap_or(own);
    crate::plot::check_out(&results, &file, &dir, args.force)?;
    let plots = crate::plot::write_plots(&results, &dir)?;
    // Warnings, so printed with --quiet too.
    for line in &plots.skipped {
        crate::stderr_line!("warning: {line}");
    }
    if !args.quiet {
        // `written` holds index.html beside the SVG files.
        let svgs = plots
            .written
            .iter()
            .filter(|p| p.extension() == Some("svg".as_ref()));
        let removed = match plots.removed.len() {
            0 => String::new(),
            n => format!(" (removed {n} chart(s) an earlier plot left there)"),
        };
        crate::stderr_line!(
            "{} plot(s) written{removed}; open {}",
            svgs.count(),
            dir.join("index.html").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
