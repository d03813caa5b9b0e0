#!/usr/bin/env bash
# End-to-end `t2n export-llm` of a synthetic f16 checkpoint with real shapes (issue 13, "Streaming and speed"):
# default 1.1B (TinyLlama's shapes: hidden 2048, 22 layers, MLP 5632, vocabulary 32000, 32/4 heads, two shards).
#
#  1. read baseline: `cat <shards> > /dev/null`, warm cache (after one unmeasured read);
#  2. export to Q4_0 without verification (-dt f16 -f32-attn -c min_max_q4_0_all -nv): wall, CPU, peak RSS;
#  3. the same export with the verification, whose time t2n prints (VERIFY=0 skips it), at t2n's default tolerance
#     (very for f16 exports: over 22 f16 layers the graph and the reference pass round differently, max abs logit
#     error about 0.01, beyond approximate's f16 1e-3 + 5e-3|x|), or at -tt $TOLERANCE when set.
# Rounds alternate the read and the export (the machine is shared and noisy: compare the ratio of the medians).
# Peak RSS is GNU time's "maximum resident set size" (file-backed pages included). Everything generated is deleted.
#
# Usage: bench/llm-export.sh [size] [runs]     size 1.1b (default) or tiny; runs default 3
# Environment: T2N to run another t2n (e.g. the AOT binary), WORK for the scratch folder (needs ~2x model size),
# THREADS for --threads (default: all cores), VERIFY=0 to skip step 3.
set -euo pipefail

size=${1:-1.1b}
runs=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/t2n-llm-export-XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
for project in bench/TorchToNnef.Benchmarks src/Cli; do
  dotnet build "$repo/$project" -c Release --nologo -v q > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
done
bench=(dotnet "$repo/bench/TorchToNnef.Benchmarks/bin/Release/net10.0/TorchToNnef.Benchmarks.dll")
read -r -a t2n <<< "${T2N:-dotnet $repo/src/Cli/bin/Release/net10.0/t2n.dll}"
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")

"${bench[@]}" gen-llm-checkpoint --dir "$work/ckpt" --size "$size"
cat "$work"/ckpt/*.safetensors > /dev/null

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/cat"; : > "$work/export"; : > "$work/rss"; : > "$work/cpu"
for r in $(seq "$runs"); do
  /usr/bin/time -f "%e" -o "$work/t" sh -c "cat '$work'/ckpt/*.safetensors > /dev/null"
  cat "$work/t" >> "$work/cat"
  rm -rf "$work/out"
  /usr/bin/time -f "%e %U %S %M" -o "$work/t" "${t2n[@]}" export-llm -d "$work/ckpt" -e "$work/out" \
    -dt f16 -f32-attn -c min_max_q4_0_all -nv "${threads[@]}" > "$work/stdout" 2> "$work/stderr" \
    || { cat "$work/stderr" >&2; exit 1; }
  read -r wall user sys rss < "$work/t"
  echo "$wall" >> "$work/export"; echo "$rss" >> "$work/rss"; echo "$user $sys" | awk '{print $1+$2}' >> "$work/cpu"
  echo "round $r: cat $(tail -1 "$work/cat") s; export $wall s wall, $(tail -1 "$work/cpu") s CPU, peak RSS $((rss / 1024)) MB; $(head -1 "$work/stdout")"
done

bytes=$(cat "$work"/ckpt/*.safetensors | wc -c)
params=$(grep -o 'exported [0-9,]* weights' "$work/stdout" | tr -dc '0-9')
cat_s=$(median < "$work/cat"); exp_s=$(median < "$work/export"); rss_kb=$(sort -g "$work/rss" | tail -1)
echo "input: $(awk "BEGIN {printf \"%.2f\", $bytes/1e9}") GB f16, $params weights; archive $(du -b "$work/out/model/model.nnef.tgz" | cut -f1) bytes"
awk -v c="$cat_s" -v e="$exp_s" -v p="$params" -v m="$rss_kb" 'BEGIN {
  printf "median of %s: cat %.2f s; export (process wall, -nv) %.2f s = %.2fx the read; %.2f G weights/s; max peak RSS %.0f MB\n", "'"$runs"'", c, e, e / c, p / e / 1e9, m / 1024 }'

if [ "${VERIFY:-1}" != 0 ]; then
  rm -rf "$work/out"
  /usr/bin/time -f "%e %M" -o "$work/t" "${t2n[@]}" export-llm -d "$work/ckpt" -e "$work/out" \
    -dt f16 -f32-attn -c min_max_q4_0_all ${TOLERANCE:+-tt "$TOLERANCE"} "${threads[@]}" > "$work/stdout" 2> "$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
  read -r wall rss < "$work/t"
  echo "with verification: $(grep '^verified' "$work/stdout"); process $wall s wall, peak RSS $((rss / 1024)) MB"
fi
