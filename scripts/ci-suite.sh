# The quick benchmark suite of the CI gate, sourced by ci-bench.sh and update-baseline.sh so
# the baseline and every CI run measure exactly the same thing. Changing it means refreshing
# the baseline (scripts/update-baseline.sh), or compare refuses the runs as not comparable.
#
# Two workloads × two allocators × 5 repetitions at scale 100,000: about 15 s on 2 cores. Five
# repetitions per side is the least with which the rank test can reach p < 0.05.
PYBENCH_SUITE=(-w dicts,churn -a pymalloc,system -r 5 --scale 100000)

# Builds the release binary (unless PYBENCH_BIN names one) and prints its path.
pybench_bin() {
    if [[ -n "${PYBENCH_BIN:-}" ]]; then
        echo "$PYBENCH_BIN"
        return
    fi
    cargo build --release --quiet >&2
    echo "${CARGO_TARGET_DIR:-target}/release/pybench"
}
