//! The `pybench` binary: everything lives in the library; see `pybench --help`.

fn main() -> std::process::ExitCode {
    pybench::cli::main()
}
