#!/usr/bin/env bash
# Does AVX-512 matter end to end? `t2n quantize` of a generated f16 safetensors file with two Native AOT builds of the
# same sources, run alternately in the same session (the machine is shared: compare the ratio, not the seconds):
#   v3: the shipped baseline (IlcInstructionSet x86-64-v3: AVX2; the Vector256 kernel)
#   v4: IlcInstructionSet x86-64-v4 (AVX-512; the Vector512 kernel; refuses to start on CPUs without AVX-512)
# Native AOT cannot dispatch to Vector512 at run time from an x86-64-v3 binary (the JIT's EVEX encoding is chosen at
# compile time), so the only ways to use AVX-512 are a second binary or this measurement showing it is not needed.
#
# Usage: scripts/avx512-side-by-side.sh [GiB] [rounds]     (default 1 GiB, 3 rounds; medians are reported)
# Environment: T2N_V3 / T2N_V4 to use binaries already published (otherwise both are published, ~6 min each);
# WORK for the scratch folder (needs about 1.3 x GiB free); SKIP_BUILD=1 to use the benchmark project as built.
set -euo pipefail
gib=${1:-1}
rounds=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/t2n-avx512-XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
grep -qw avx512bw /proc/cpuinfo || { echo "this CPU has no AVX-512: nothing to compare" >&2; exit 1; }

publish() { # publish <instruction set> <folder>
  dotnet publish "$repo/src/Cli/TorchToNnef.Cli.csproj" -c Release -r linux-x64 -p:PublishAot=true \
    -p:IlcInstructionSet="$1" -o "$2" --nologo -v q > "$work/publish-$1.log" 2>&1 || { cat "$work/publish-$1.log" >&2; exit 1; }
  echo "$2/t2n"
}
v3=${T2N_V3:-$(publish x86-64-v3 "$work/v3")}
v4=${T2N_V4:-$(publish x86-64-v4 "$work/v4")}
[ -n "${SKIP_BUILD:-}" ] || dotnet build "$repo/bench/TorchToNnef.Benchmarks" -c Release --nologo -v q > "$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
dotnet "$repo/bench/TorchToNnef.Benchmarks/bin/Release/net10.0/TorchToNnef.Benchmarks.dll" gen-safetensors "$work/model.safetensors" "$gib"
echo "input: $(du -h "$work/model.safetensors" | cut -f1)"

for ((r = 1; r <= rounds; r++)); do
  for variant in v3 v4; do
    bin=$v3; [ "$variant" = v4 ] && bin=$v4
    rm -rf "$work/out"
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" quantize "$work/model.safetensors" -o "$work/out" --skip-ineligible > "$work/out.log" 2>&1
    [ "$r" = 1 ] && tail -1 "$work/out.log"  # names the kernel that ran
    read -r wall user sys rss < "$work/time"
    echo "$variant $wall $user $sys $rss" | tee -a "$work/results" \
      | awk '{ printf "round '"$r"' %s: wall %6.2f s  cpu %6.2f s  peak RSS %6.1f MB\n", $1, $2, $3 + $4, $5 / 1024 }'
  done
done
median() { awk -v v="$1" -v c="$2" '$1 == v { print $(c) }' "$work/results" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
w3=$(median v3 2); w4=$(median v4 2)
awk -v a="$w3" -v b="$w4" -v g="$gib" 'BEGIN { printf "median wall: v3 (AVX2) %.2f s, v4 (AVX-512) %.2f s; v4/v3 = %.3f; %.2f vs %.2f GiB/s\n", a, b, b / a, g / a, g / b }'
