#!/usr/bin/env bash
# samples/embed as a user would build it: packs the libraries (artifacts/packages), publishes the sample with Native
# AOT against those packages, runs it on samples/tiny-llama and prints the binary size and peak RSS (GNU time).
#
# Usage: scripts/embed-sample.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-embed-XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
for lib in Core Formats Quant Export; do
  dotnet pack "$repo/src/$lib" -c Release --nologo -v q > "$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; exit 1; }
done
rm -rf "$repo/samples/embed/obj/packages/torchtonnef."*
dotnet publish "$repo/samples/embed" -c Release -r linux-x64 -o "$work/bin" --nologo -v q > "$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; exit 1; }
grep -E "warning [A-Z]+[0-9]+" "$work/publish.log" && { echo "publish warnings" >&2; exit 1; }
/usr/bin/time -f "%M" -o "$work/rss" "$work/bin/TorchToNnef.EmbedSample" "$repo/samples/tiny-llama/model.safetensors" "$work/out"
echo "files published: $(ls "$work/bin" | tr '\n' ' ')"
echo "binary: $(stat -c %s "$work/bin/TorchToNnef.EmbedSample") bytes; peak RSS: $(cat "$work/rss") KiB"
