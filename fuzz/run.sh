#!/usr/bin/env bash
# Build and run every cargo-fuzz target (fuzz/fuzz_targets/*.rs) for a bounded time.
#
#   fuzz/run.sh smoke        all targets, about FUZZ_SMOKE_TOTAL seconds in all (60)
#   fuzz/run.sh long         each target FUZZ_TIME seconds (600)
#   fuzz/run.sh check        exit 0 when cargo-fuzz and a nightly (or RUSTC_BOOTSTRAP) work
#   FUZZ_TARGETS="tlv mrz"   only these
#   FUZZ_RSS_MB=2048 FUZZ_MALLOC_MB=512   libFuzzer's -rss_limit_mb / -malloc_limit_mb
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain; without a
# nightly it tries the stable toolchain with RUSTC_BOOTSTRAP=1. Corpora are seeded
# from test-vectors/ and pkd-fixtures/ (fuzz/seed-corpus.py) into fuzz/corpus/<target>/
# (git-ignored). Prints one line per target with libFuzzer's execution count, writes
# the table to $FUZZ_OUT/summary.txt, and fails when a target crashed (the input is in
# fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-smoke}
FUZZ_OUT=${FUZZ_OUT:-../target/fuzz}
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR-fuzz}}
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-target}
mkdir -p "$FUZZ_OUT"

toolchain() {
  command -v cargo-fuzz >/dev/null 2>&1 || { echo "cargo-fuzz not installed (cargo install cargo-fuzz)"; return 1; }
  if cargo +nightly --version >/dev/null 2>&1; then
    echo "+nightly"
  elif RUSTC_BOOTSTRAP=1 cargo fuzz --help >/dev/null 2>&1; then
    echo "bootstrap"
  else
    echo "no nightly toolchain"; return 1
  fi
}

if ! tc=$(toolchain); then
  echo "fuzz: $tc" >&2
  exit 2
fi
if [ "$mode" = check ]; then
  exit 0
fi
if [ "$tc" = "+nightly" ]; then
  FUZZ_CMD=(cargo +nightly fuzz)
else
  FUZZ_CMD=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi
fuzz() { "${FUZZ_CMD[@]}" "$@"; }

targets=${FUZZ_TARGETS:-$(ls fuzz_targets | sed -n 's/\.rs$//p')}
n=$(echo "$targets" | wc -w)
case "$mode" in
  smoke) per=$(( ${FUZZ_SMOKE_TOTAL:-60} / n )); [ "$per" -ge 1 ] || per=1 ;;
  long) per=${FUZZ_TIME:-600} ;;
  *) echo "usage: fuzz/run.sh smoke|long|check" >&2; exit 2 ;;
esac

python3 seed-corpus.py $targets > "$FUZZ_OUT/seed.log"
echo "fuzz: building $n targets ($tc, target dir $FUZZ_TARGET_DIR)"
: > "$FUZZ_OUT/build.log"
for t in ${FUZZ_TARGETS:+$targets}; do
  fuzz build --target-dir "$FUZZ_TARGET_DIR" "$t" >>"$FUZZ_OUT/build.log" 2>&1 \
    || { tail -30 "$FUZZ_OUT/build.log" >&2; exit 1; }
done
if [ -z "${FUZZ_TARGETS:-}" ]; then
  fuzz build --target-dir "$FUZZ_TARGET_DIR" >"$FUZZ_OUT/build.log" 2>&1 \
    || { tail -30 "$FUZZ_OUT/build.log" >&2; exit 1; }
fi

summary="$FUZZ_OUT/summary.txt"
# FUZZ_JOBS targets run at once (default 1); FUZZ_NICE (default 0) lowers their
# priority so other work on the machine keeps its CPU (libFuzzer's time is wall time,
# so a niced target runs as long, with fewer executions).
jobs=${FUZZ_JOBS:-1}
# memory: a process past FUZZ_RSS_MB, or one allocation past FUZZ_MALLOC_MB, is a
# finding (amplification: a small input that costs memory out of proportion)
rss_mb=${FUZZ_RSS_MB:-2048}
malloc_mb=${FUZZ_MALLOC_MB:-512}
nice_level=${FUZZ_NICE:-0}
run_one() {
  local t=$1 log="$FUZZ_OUT/$1.log" result started ended where
  mkdir -p "corpus/$t" "artifacts/$t"
  started=$(date +%s)
  if nice -n "$nice_level" "${FUZZ_CMD[@]}" run --target-dir "$FUZZ_TARGET_DIR" "$t" "corpus/$t" -- \
      -max_total_time="$per" -timeout=10 -rss_limit_mb="$rss_mb" -malloc_limit_mb="$malloc_mb" -max_len=65536 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    case "$log" in /*) where=$log ;; *) where=fuzz/$log ;; esac
    result="CRASH (see $where, fuzz/artifacts/$t/)"
  fi
  ended=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(ls "corpus/$t" | wc -l)
  printf '%-22s %10s %12s %8s  %s\n' "$t" "$((ended - started))" "${execs:-?}" "$corpus" "$result" > "$FUZZ_OUT/$t.result"
  cat "$FUZZ_OUT/$t.result"
}
printf '%-22s %10s %12s %8s  %s\n' target seconds execs corpus result
running=0
for t in $targets; do
  rm -f "$FUZZ_OUT/$t.result"
  if [ "$jobs" -le 1 ]; then
    run_one "$t"
  else
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  fi
done
wait
printf '%-22s %10s %12s %8s  %s\n' target seconds execs corpus result > "$summary"
failed=0
for t in $targets; do
  if [ -f "$FUZZ_OUT/$t.result" ]; then cat "$FUZZ_OUT/$t.result"; else echo "$t: no result"; fi >> "$summary"
  grep -q ' ok$' "$FUZZ_OUT/$t.result" 2>/dev/null || failed=1
done
echo "== summary ($summary)"
cat "$summary"
exit $failed
