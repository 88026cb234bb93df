# The quick benchmark suite of the CI gate, sourced by ci-bench.sh and update-baseline.sh (after
# lib.sh, whose pybench_bin builds or names the binary they run) so
# the baseline and every CI run measure exactly the same thing. Changing it means refreshing
# the baseline (scripts/update-baseline.sh), or compare refuses the runs as not comparable.
#
# Two workloads × two allocators × 5 repetitions at scale 100,000. Five
# repetitions per side is the least with which the rank test can reach p < 0.05.
PYBENCH_SUITE=(-w dicts,churn -a pymalloc,system -r 5 --scale 100000)
