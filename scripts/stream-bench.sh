#!/usr/bin/env bash
# Streaming replay and parallel decode figures (issue 15), each taken RUNS times; prints the
# median, min – max and the load average, then one summary line per figure.
#
#   scripts/stream-bench.sh                    # 10^8 and 10^9 events, 5 runs each
#   SIZES=1e8 RUNS=3 scripts/stream-bench.sh   # quicker
#   PARTS=tput SIZES=1e8 scripts/stream-bench.sh   # only some figures (rss, tput, decode)
#
# Figures, per trace (`webapp` written by `pybench gen`, 2.03 events per unit of --scale; the
# 10^9 file takes ~13 min to write at load 12 and ~750 MB; kept in $DIR between runs):
#  - rss_stream / rss_memory: peak RSS of the largest process of `pybench run -a null` (which
#    measures only the harness: its throughput process and null's memory cell) with --stream
#    always / never (null allocates nothing, so this is the harness's own memory), against the target: slot tables + 128 MiB, where a streamed
#    replay's slot tables are 8 bytes a slot for each contender's pointer table and 8 for the
#    compiler's live table, slots as the trace's end block declares.
#  - tput_always / tput_never: ops/s of `pymalloc` with --stream always / never, the two
#    alternating run by run, gross (the replay's own throughput, the target's figure) and net
#    (less the same process's `null`, as `run` reports it), with `null`'s ns/event; and each
#    alternated pair's two ratios. Net and gross part because `null`, whose loop waits on
#    little but the records, reads them faster from the ring (written by the read-ahead
#    moments before) than from a stream in memory, where pymalloc's replay hides that wait
#    behind its own work. --stream never is skipped where the stream does not fit in memory
#    (24 bytes an event).
#  - decode serial / parallel1 / parallel2: M events/s of the trace's decode
#    (examples/decode_speed.rs --rounds 2), and each round's parallel2 / serial ratio.
#
# Settings are environment variables only; RUNS and ROUNDS must be positive whole numbers,
# SIZES words among 1e8 1e9 and PARTS among rss tput decode, else one line and exit 2 before
# anything is built. DIR, relative, is read from the folder the script is started in. Needs
# python3 and GNU time (/usr/bin/time, Debian's `time`). A failed run stops the script, except
# a throughput run, which is counted as failed beside the figures of the others. Each run's
# folder is in a temporary folder inside DIR, removed at the end and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
no_arguments "$@"
need python3
[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (Debian's package \`time\`)"
RUNS=$(whole_number RUNS "${RUNS:-5}")
SIZES=${SIZES:-"1e8 1e9"}
ROUNDS=$(whole_number ROUNDS "${ROUNDS:-3}")
PARTS=${PARTS:-"rss tput decode"}
for size in $SIZES; do
  case $size in 1e8 | 1e9) ;; *) die "SIZES holds $size: each size is 1e8 or 1e9" ;; esac
done
[ -n "${SIZES// /}" ] || die "SIZES is empty: give 1e8, 1e9 or both"
for part in $PARTS; do
  case $part in rss | tput | decode) ;; *) die "PARTS holds $part: each part is rss, tput or decode" ;; esac
done
want() { [[ " $PARTS " == *" $1 "* ]]; }
paths_from_caller DIR
DIR=${DIR:-/tmp/pybench-stream-bench}
BIN=${CARGO_TARGET_DIR:-target}/release/pybench
mkdir -p "$DIR"
nice -n 5 cargo build --release --quiet --bin pybench --example decode_speed
DECODE=${CARGO_TARGET_DIR:-target}/release/examples/decode_speed
# This invocation's scratch: the runs' folders, removed however the script ends.
WORK=$(mktemp -d "$DIR/run.XXXX")
trap 'rm -rf "$WORK"' EXIT

load() { cut -d' ' -f1 /proc/loadavg; }

# median and range of the numbers on stdin; other lines (a run's "failed") are counted apart
stats() {
  sort -g | awk '$1 ~ /^[0-9.eE+-]+$/ {v[++n] = $1; next} NF {f++}
    END {
      if (n == 0) { printf "no figures (%d failed)", f; exit }
      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      printf "median %s (%s – %s, n=%d)", m, v[1], v[n], n
      if (f) printf "; %d failed, not counted", f
    }'
}

# a / b to three places, or "failed" when either is not a positive figure
pair_ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0 && b > 0) printf "%.3f", a / b; else print "failed"}'
}

trace_of() {
  local size=$1 scale
  case $size in
    1e8) scale=49200000 ;;
    1e9) scale=492000000 ;;
  esac
  local t="$DIR/webapp-$size.pbt"
  # (called in a command substitution, which does not inherit `set -e`: a failed gen exits)
  [ -s "$t" ] || nice -n 5 "$BIN" gen -w webapp --scale "$scale" -o "$t" >&2 || exit
  echo "$t"
}

# peak RSS (KiB) of the largest process of a run; prints "KiB slots contenders", or fails
# with the run's last error line
rss_run() {
  local t=$1 mode=$2 out
  out=$(mktemp -d "$WORK/r.XXXX")
  /usr/bin/time -o "$out/maxrss" -f '%M' "$BIN" run --trace "$t" -a null -r 1 --rounds 2 \
    --min-time 0.001 --stream "$mode" --quiet --out "$out" >/dev/null 2>"$out/stderr" || true
  if ! compgen -G "$out/*/results.json" >/dev/null; then
    echo "stream-bench: the rss run failed: $(grep -v '^Command exited' "$out/stderr" | tail -1)" >&2
    rm -rf "$out"
    exit 1
  fi
  python3 - "$out" "$(tail -1 "$out/maxrss")" <<'EOF'
import glob, json, re, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*/results.json")[0]))
notes = " ".join(n for c in r["cells"] for n in c.get("notes", []))
m = re.search(r"of (\d+) entries", notes)
k = re.search(r"one per contender: (\d+)", notes)
print(sys.argv[2], m.group(1) if m else "0", k.group(1) if k else "1")
EOF
  rm -rf "$out"
}

# pymalloc's net and gross M ops/s and null's ns/event in one run ("failed" for each when
# the run fails)
tput_run() {
  local t=$1 mode=$2 out
  out=$(mktemp -d "$WORK/r.XXXX")
  nice -n 0 "$BIN" run --trace "$t" -a pymalloc -r 1 --rounds "$ROUNDS" --stream "$mode" --quiet \
    --out "$out" >/dev/null 2>&1 || { echo "failed failed failed"; rm -rf "$out"; return; }
  python3 - "$out" <<'EOF'
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + "/*/results.json")[0]))
m = {c["allocator"].split(":")[0]: {x["name"]: x["value"] for x in c["metrics"] if not x.get("op")}
     for c in r["cells"]}
p, n = m["pymalloc"], m["null"]
print("%.1f %.1f %.3f" % (p["net_ops_per_sec"] / 1e6, p["ops_per_sec"] / 1e6, n["loop_ns_per_op"]))
EOF
  rm -rf "$out"
}

summary=()
for size in $SIZES; do
  t=$(trace_of "$size")
  fits=yes
  [ "$size" = 1e9 ] && fits=no   # 10^9 × 24 B = 24 GB: more than this VM has
  for mode in always never; do
    want rss || continue
    [ "$mode" = never ] && [ $fits = no ] && continue
    vals=(); slots=0; tables=1; l0=$(load)
    for i in $(seq "$RUNS"); do
      read -r kib s k < <(rss_run "$t" "$mode"); vals+=("$kib"); slots=$s; tables=$k
    done
    med=$(printf '%s\n' "${vals[@]}" | awk '{print $1/1024}' | stats)
    limit=$(( (slots * (8 * tables + 8) >> 20) + 128 ))
    line="$size rss_${mode}: peak RSS MiB $med; slot tables+128 MiB = $limit MiB (slots $slots, $tables contender tables); load $l0 → $(load)"
    echo "$line"; summary+=("$line")
  done
  if want tput && { [ "$size" != 1e9 ] || [ "${TPUT_1E9:-0}" = 1 ]; }; then
    # The two modes alternate run by run (streamed first in odd pairs, materialised first in
    # even ones), and each pair's ratio is taken: the host's speed drifts over minutes, so
    # five runs of one mode followed by five of the other measure the drift as much as the
    # modes (0.96 and 0.86 in two sittings of that older order).
    # Per mode: net, gross and null figures, a run each; per pair: the two ratios.
    declare -A fig=(); gross=(); net=(); l0=$(load)
    for i in $(seq "$RUNS"); do
      order="always never"; [ $((i % 2)) = 0 ] && order="never always"
      [ $fits = no ] && order=always
      for mode in $order; do
        read -r n g z < <(tput_run "$t" "$mode")
        fig[$mode.net]+="$n "; fig[$mode.gross]+="$g "; fig[$mode.null]+="$z "
        if [ "$mode" = always ]; then a_net=$n a_gross=$g; else m_net=$n m_gross=$g; fi
      done
      if [ $fits = yes ]; then
        net+=("$(pair_ratio "$a_net" "$m_net")")
        gross+=("$(pair_ratio "$a_gross" "$m_gross")")
      fi
    done
    modes=always; [ $fits = yes ] && modes="always never"
    for mode in $modes; do
      line="$size tput_$mode: pymalloc gross M ops/s $(tr ' ' '\n' <<<"${fig[$mode.gross]}" | stats); net $(tr ' ' '\n' <<<"${fig[$mode.net]}" | stats); null ns/event $(tr ' ' '\n' <<<"${fig[$mode.null]}" | stats)"
      [ "$mode" = always ] && line+="; load $l0 → $(load)"
      echo "$line"; summary+=("$line")
    done
    if [ $fits = yes ]; then
      line="$size tput streamed/materialised gross, per alternated pair: ${gross[*]}; $(printf '%s\n' "${gross[@]}" | stats) (target: within 5 %)"
      echo "$line"; summary+=("$line")
      line="$size tput streamed/materialised net of each run's null, per alternated pair: ${net[*]}; $(printf '%s\n' "${net[@]}" | stats)"
      echo "$line"; summary+=("$line")
    fi
  fi
  if want decode && [ "$size" = 1e8 ]; then
    ser=(); p1=(); p2=(); ratio=(); l0=$(load)
    for i in $(seq "$RUNS"); do
      # Two rounds a run, the readers alternating: parallel2 over the serial pass just
      # before it, since this host's single-core speed drifts within seconds. Written to a
      # file first: a decode that fails then stops the script instead of giving no lines.
      "$DECODE" "$t" --rounds 2 >"$WORK/decode.txt"
      while read -r _ what _ _ rate; do
        case $what in
          serial) ser+=("$rate");;
          parallel1) p1+=("$rate");;
          parallel2) p2+=("$rate")
            ratio+=("$(awk -v a="$rate" -v b="${ser[-1]}" 'BEGIN {printf "%.2f", a / b}')");;
        esac
      done <"$WORK/decode.txt"
    done
    line="$size decode parallel2/serial, per round: $(tr ' ' '\n' <<<"${ratio[*]}" | stats) (target >= 1.8)"
    echo "$line"; summary+=("$line")
    for pair in "serial:${ser[*]}" "parallel1:${p1[*]}" "parallel2:${p2[*]}"; do
      line="$size decode ${pair%%:*}: M events/s $(tr ' ' '\n' <<<"${pair#*:}" | stats); load $l0 → $(load)"
      echo "$line"; summary+=("$line")
    done
  fi
done
echo "== summary (load now $(load); figures at load > 2 are indicative) =="
printf '%s\n' "${summary[@]}"
