#!/usr/bin/env bash
# Do two t2n builds verify LLM exports alike? Runs `t2n --json export-llm` of both on every golden checkpoint
# (../shared/golden/llm/*/hf) and the tiny sample, in f32, in f16 + Q4_0 and in f16 + Q4_0 with f32 attention, and
# compares the `checks` of the two JSON summaries (every output of the four modes: passed, max abs and relative
# errors, outliers) text for text. Prints one line per export and exits 1 if any differs.
#
# Usage: bench/llm-verify-checks-compare.sh 'T2N BEFORE' 'T2N AFTER'
#   e.g.  bench/llm-verify-checks-compare.sh /tmp/aot-before/t2n /tmp/aot-after/t2n
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
read -r -a before <<< "$1"
read -r -a after <<< "$2"
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-llm-checks-XXXXXX")
trap 'rm -rf "$work"' EXIT

checks() { awk '/^  "checks": \[/,/^  \]/' "$1"; }
status=0
for dir in "$repo"/../shared/golden/llm/*/hf "$repo/samples/tiny-llama"; do
  model=$(basename "$(dirname "$dir")"); [ "$model" = samples ] && model=tiny-llama
  for args in "" "-dt f16 -c min_max_q4_0_all" "-dt f16 -f32-attn -c min_max_q4_0_all"; do
    read -r -a extra <<< "$args"
    "${before[@]}" --json export-llm -d "$dir" -e "$work/b" "${extra[@]}" > "$work/b.json" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
    "${after[@]}" --json export-llm -d "$dir" -e "$work/a" "${extra[@]}" > "$work/a.json" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
    rm -rf "$work/b" "$work/a"
    n=$(checks "$work/b.json" | grep -c '"name"' || true)
    if [ "$n" -gt 0 ] && [ "$(checks "$work/b.json")" = "$(checks "$work/a.json")" ]; then
      echo "$model ${args:-f32}: $n outputs, identical checks"
    else
      echo "$model ${args:-f32}: checks DIFFER (or none)"; status=1
    fi
  done
done
exit $status
