#!/usr/bin/env bash
# Peak resident memory of `t2n export` on the real models of .ci/real-models.tsv (read from the test cache that
# .ci/fetch-models fills), in f32 and with Q4_0 compression, against the bound of issue 14: the model file's size plus
# 200 MB. The peak is the kernel's maximum resident set size of the export process (GNU time's %M, the VmHWM the
# kernel keeps for the process), so it includes the .NET runtime itself.
#
# With SYNTHETIC_MB=N it also exports two generated models that are large enough to show how the export scales: a chain
# of MatMuls by 64 MiB f32 weights (`bench` gen-onnx-chain), N MiB with the weights in an external data file and N/2 MiB
# with them inline (raw_data); every weight is transposed and written (or quantized to Q4_0).
#
# Usage: [SYNTHETIC_MB=1024] scripts/export-peak-rss.sh [t2n binary]   (default: builds src/Cli in Release)
# Exit status: 1 when any export fails or exceeds the bound.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${T2N_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/t2n-models}
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ $# -gt 0 ]; then
  t2n=$1
else
  dotnet build "$repo/src/Cli" -c Release -v quiet -nologo > /dev/null
  t2n="$repo/src/Cli/bin/Release/net10.0/t2n"
fi

# Input shapes the symbolic OCR models are exported with (the sizes the tests run them at).
shape_of() {
  case "$1" in
    ch_PP-OCRv4_det_infer) echo "x=1,3,320,320" ;;
    ch_ppocr_mobile_v2.0_cls_infer) echo "x=1,3,48,192" ;;
    ch_PP-OCRv4_rec_infer) echo "x=1,3,48,320" ;;
    *) echo "" ;;
  esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
printf '%-34s %-6s %10s %12s %12s  %s\n' model mode "file KiB" "peak KiB" "bound KiB" verdict

# Exports $2 (mode $3, extra arguments after) and prints its peak RSS against the bound for $4 KiB of model files.
measure() {
  local id=$1 model=$2 mode=$3 size_kib=$4
  shift 4
  local args=(export -i "$model" -o "$work/$id-$mode.nnef.tgz" --overwrite "$@")
  [ "$mode" = q4_0 ] && args+=(-c min_max_q4_0_all)
  if ! /usr/bin/time -f '%M' -o "$work/rss" "$t2n" "${args[@]}" > "$work/log" 2>&1; then
    echo "$id $mode: export failed:" >&2
    cat "$work/log" >&2
    status=1
    return
  fi
  rm -f "$work/$id-$mode.nnef.tgz"
  local peak bound_kib verdict=ok
  peak=$(tail -n 1 "$work/rss")
  bound_kib=$(( size_kib + 200 * 1024 ))
  [ "$peak" -le "$bound_kib" ] || { verdict=OVER; status=1; }
  printf '%-34s %-6s %10d %12d %12d  %s\n' "$id" "$mode" "$size_kib" "$peak" "$bound_kib" "$verdict"
}

if [ -n "${SYNTHETIC_MB:-}" ]; then
  bench="$repo/bench/TorchToNnef.Benchmarks"
  dotnet build "$bench" -c Release -v quiet -nologo > /dev/null
  for layout in external inline; do
    mb=$SYNTHETIC_MB
    flag=--external
    [ "$layout" = inline ] && { mb=$(( SYNTHETIC_MB / 2 )); flag=; }
    dotnet "$bench/bin/Release/net10.0/TorchToNnef.Benchmarks.dll" gen-onnx-chain "$work/chain-$layout" "$mb" $flag > /dev/null
    files_kib=$(( $(du -b -c "$work/chain-$layout"/* | tail -n 1 | cut -f 1) / 1024 ))
    for mode in f32 q4_0; do
      measure "synthetic_chain_${mb}MiB_$layout" "$work/chain-$layout/chain.onnx" "$mode" "$files_kib"
    done
    rm -rf "$work/chain-$layout"
  done
fi

while IFS=$'\t' read -r package file _sha; do
  case "$package" in '#'* | '') continue ;; esac
  dir=$(echo "$package" | sed -e 's/^@//' -e 's#/#-#' -e 's/@/-/')
  model="$cache/$dir/$(basename "$file")"
  id=$(basename "$file" .onnx)
  [ -f "$model" ] || { echo "$model is missing: run bash .ci/fetch-models" >&2; exit 2; }
  size_kib=$(( $(stat -c %s "$model") / 1024 ))
  shape=$(shape_of "$id")
  for mode in f32 q4_0; do
    if [ -n "$shape" ]; then
      measure "$id" "$model" "$mode" "$size_kib" --input-shape "$shape"
    else
      measure "$id" "$model" "$mode" "$size_kib"
    fi
  done
done < "$repo/.ci/real-models.tsv"
exit $status
