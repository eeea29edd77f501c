#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time.
#   scripts/fuzz.sh            # 30 s per target (the smoke run of the test command)
#   scripts/fuzz.sh 600        # 10 minutes per target
#   scripts/fuzz.sh 600 eio_session sio_decoder   # chosen targets only
# Installs cargo-fuzz if missing. Uses the stable toolchain: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly-only flags. The committed seed corpus is
# read only; new inputs go to target/fuzz-corpus/<target> (not committed).
# A crash leaves its input under fuzz/artifacts/<target>/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
shift || true
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O
mkdir -p ../target/fuzz-logs
for t in "${targets[@]}"; do
  dict=""
  case "$t" in
    eio_*) dict="-dict=dict/eio.dict" ;;
    sio_msgpack) dict="" ;; # binary: the text tokens would not help
    sio_*) dict="-dict=dict/sio.dict" ;;
  esac
  work="../target/fuzz-corpus/$t"
  mkdir -p "$work"
  echo "==> fuzz $t for ${secs}s"
  log="../target/fuzz-logs/$t.log"
  cargo fuzz run -O "$t" "$work" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 $dict -print_final_stats=1 >"$log" 2>&1 || true
  # The last status line carries the coverage reached (cov: edges, ft: features).
  grep -E "^#[0-9]+.*cov:" "$log" | tail -n 1 || true
  grep -E "^(stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+==|SUMMARY)|panicked|Test unit written" "$log" || true
  if [ -n "$(ls -A "artifacts/$t" 2>/dev/null)" ]; then
    echo "fuzz: $t found a failing input in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
