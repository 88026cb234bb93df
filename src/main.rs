//! The `pybench` binary: everything lives in the library; see `pybench --help`.

/// Forwards to the system allocator, except inside a cell process, where the harness's own
/// state must stay out of the allocator under test (see `harness::heap`).
#[global_allocator]
static GLOBAL: pybench::harness::heap::HarnessHeap = pybench::harness::heap::HarnessHeap;

fn main() -> std::process::ExitCode {
    pybench::cli::main()
}
