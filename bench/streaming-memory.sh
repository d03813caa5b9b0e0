#!/usr/bin/env bash
# Peak RSS and wall time of streaming a multi-gigabyte model through t2n (issue 10, "streaming end to end"):
#
#  1. copy: every tensor of an f16 safetensors checkpoint, unchanged, into an NNEF .tgz through SafetensorsTensorSource
#     (bench/TorchToNnef.Benchmarks copy-safetensors);
#  2. compress: `t2n compress -c min_max_q4_0_all` of an f32 NNEF .tgz, against `gzip -dc` of the same file to
#     /dev/null, run alternately in the same session (the machine is shared and noisy: compare the ratio).
#
# Peak RSS is GNU time's "maximum resident set size" (file-backed pages included). The inputs are generated
# (deterministic, weight-like values) and everything is deleted at the end.
#
# Usage: bench/streaming-memory.sh [GiB] [runs] [gzip levels]
#   GiB     model size (default 2)
#   runs    rounds of each measurement (default 3); medians are reported
#   levels  gzip levels of the NNEF input (default "0", torch_to_nnef's and our writer's default; e.g. "0 6")
# Environment: T2N to run another t2n (e.g. the AOT binary), WORK to choose the scratch folder (needs about
# 5 x GiB of free disk).
set -euo pipefail

gib=${1:-2}
runs=${2:-3}
levels=${3:-0}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/t2n-streaming-XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
for project in bench/TorchToNnef.Benchmarks src/Cli; do
  dotnet build "$repo/$project" -c Release --nologo -v q > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
done
bench=(dotnet "$repo/bench/TorchToNnef.Benchmarks/bin/Release/net10.0/TorchToNnef.Benchmarks.dll")
read -r -a t2n <<< "${T2N:-dotnet $repo/src/Cli/bin/Release/net10.0/t2n.dll}"

# measure <label> <command...>: appends "label wall cpu rss_mb" to $work/results.
measure() {
  local label=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null
  read -r wall user sys rss < "$work/time"
  awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN { printf "%-28s wall %7.2f s  cpu %7.2f s  peak RSS %7.1f MB\n", l, w, u + s, r / 1024 }' | tee -a "$work/results"
}

median() { # median of field <n> of the result lines labelled <label>
  awk -v l="$1" -v c="$2" '$1 == l { print $(c) }' "$work/results" | sort -g \
    | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "scratch: $work ($(df -h "$work" | awk 'NR == 2 { print $4 }') free)"
"${bench[@]}" gen-safetensors "$work/model.safetensors" "$gib"
for level in $levels; do
  "${bench[@]}" gen-nnef-tgz "$work/f32-level$level.nnef.tgz" "$gib" "$level"
done

for ((run = 1; run <= runs; run++)); do
  echo "round $run of $runs"
  measure copy-safetensors "${bench[@]}" copy-safetensors "$work/model.safetensors" "$work/copy.nnef.tgz"
  rm -f "$work/copy.nnef.tgz"
  for level in $levels; do
    measure "gzip-dc-level$level" gzip -dc "$work/f32-level$level.nnef.tgz"
    measure "compress-level$level" "${t2n[@]}" compress -i "$work/f32-level$level.nnef.tgz" -o "$work/q40.nnef.tgz" -c min_max_q4_0_all --overwrite
    rm -f "$work/q40.nnef.tgz"
  done
done

echo
echo "medians over $runs rounds:"
for label in copy-safetensors $(for l in $levels; do echo "gzip-dc-level$l compress-level$l"; done); do
  printf "%-28s wall %7.2f s  cpu %7.2f s  peak RSS %7.1f MB\n" "$label" "$(median "$label" 3)" "$(median "$label" 6)" "$(median "$label" 10)"
done
for level in $levels; do
  awk -v c="$(median "compress-level$level" 3)" -v g="$(median "gzip-dc-level$level" 3)" \
      -v cc="$(median "compress-level$level" 6)" -v gc="$(median "gzip-dc-level$level" 6)" -v l="$level" \
    'BEGIN { printf "level %s: compress / gzip -dc = %.2f (wall), %.2f (cpu)\n", l, c / g, cc / gc }'
done
