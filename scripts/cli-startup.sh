#!/usr/bin/env bash
# Start-up time and size of t2n binaries, side by side: for each binary, the median wall time of `t2n --version` and of
# `t2n inspect samples/tiny-llama` over N runs, the binaries alternating run by run (the machine is shared and noisy:
# compare the ratio in one session, not the milliseconds across sessions).
#
# Usage: scripts/cli-startup.sh <binary> [binary ...]   (RUNS=30 by default)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
[ $# -gt 0 ] || { echo "usage: $0 <t2n binary> [more binaries]" >&2; exit 2; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
now() { date +%s%N; }
for ((r = 0; r < runs; r++)); do
  for bin in "$@"; do
    for what in version inspect; do
      if [ "$what" = version ]; then args=(--version); else args=(inspect "$repo/samples/tiny-llama"); fi
      t0=$(now); "$bin" "${args[@]}" > /dev/null; t1=$(now)
      echo "$bin $what $(( (t1 - t0) / 1000 ))" >> "$results"
    done
  done
done
for bin in "$@"; do
  size=$(stat -c %s "$bin")
  line="$bin: $(( size / 1024 )) KiB"
  for what in version inspect; do
    med=$(awk -v b="$bin" -v w="$what" '$1 == b && $2 == w { print $3 }' "$results" | sort -n \
      | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }')
    line="$line, $what median $(awk -v m="$med" 'BEGIN { printf "%.1f", m / 1000 }') ms"
  done
  echo "$line"
done
