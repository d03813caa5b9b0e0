#!/usr/bin/env bash
# GzipCrc32 against System.IO.Hashing's Crc32 in a small Native AOT program built like the CLI (x86-64-v3 baseline):
# src/Formats/Checksums/*.cs compiled into a console program, the two alternated in 9 rounds per size (one export-llm
# write of Q4_0 blocks, 2,359,296 bytes, and 64 MiB); prints GB/s medians and the median time ratio ours/package.
# A quick figure when BenchmarkDotNet's AOT build of the whole benchmark program (Crc32Benchmarks) is too slow.
# Usage: bench/crc32-aot.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-crc32-aot-XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(grep -o 'System.IO.Hashing" Version="[^"]*' "$repo/Directory.Packages.props" | sed 's/.*Version="//')
cat > "$work/crc32aot.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <InvariantGlobalization>true</InvariantGlobalization>
    <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
    <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="System.IO.Hashing" Version="$version" />
    <Compile Include="$repo/src/Formats/Checksums/*.cs" />
  </ItemGroup>
</Project>
EOF
cat > "$work/Program.cs" <<'EOF'
using System.Diagnostics;
using System.IO.Hashing;
using TorchToNnef.Formats.Checksums;

Console.WriteLine($"GzipCrc32 widest path: {GzipCrc32.Widest}");
foreach (int size in new[] { 2_359_296, 64 << 20 })
{
    var buf = new byte[size];
    new Random(1).NextBytes(buf);
    if (Crc32.HashToUInt32(buf) != GzipCrc32.Compute(buf)) throw new InvalidOperationException("CRC mismatch");
    int reps = Math.Max(4, (int)(2_000_000_000L / size));
    var ratio = new List<double>(); var package = new List<double>(); var ours = new List<double>();
    for (int r = 0; r < 9; r++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) Crc32.HashToUInt32(buf);
        double a = sw.Elapsed.TotalSeconds;
        sw.Restart();
        for (int i = 0; i < reps; i++) GzipCrc32.Compute(buf);
        double b = sw.Elapsed.TotalSeconds;
        ratio.Add(b / a); package.Add((double)size * reps / a / 1e9); ours.Add((double)size * reps / b / 1e9);
    }
    ratio.Sort(); package.Sort(); ours.Sort();
    Console.WriteLine($"{size} bytes: package {package[4]:F1} GB/s, GzipCrc32 {ours[4]:F1} GB/s, time ours/package median {ratio[4]:F2} (rounds {ratio[0]:F2}-{ratio[8]:F2})");
}
EOF
dotnet publish "$work/crc32aot.csproj" -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o "$work/out" > "$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; exit 1; }
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/out/crc32aot"
