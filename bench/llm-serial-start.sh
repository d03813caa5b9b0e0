#!/usr/bin/env bash
# How long t2n export-llm works on one core before its first weight: several builds on the same checkpoint,
# interleaved, each run under `perf record` (4 kHz, call graphs). Per run it prints
#   first-kernel: wall time from the first sample (exec) to the first sample in a Q4_0 kernel (the first weight quantized)
#   main-thread CPU before it, and how much of that was garbage collection (samples under GarbageCollectGeneration)
#   all threads' CPU before it, and the main thread's CPU after the last kernel sample (the tail)
#   first drain: when the writer (main thread) takes the producers' first chunk (the graph is built and planned), the
#   main thread's and the other threads' CPU before it (what the producers did meanwhile), and the run's total CPU
# CPU figures count samples of a thread that was running, so they hold up better than wall times on a loaded machine.
#
# Usage: bench/llm-serial-start.sh CKPT ROUNDS NAME BIN [NAME BIN ...]   (needs perf and python3; BIN an AOT t2n with
#   symbols: dotnet publish src/Cli -c Release -r linux-x64 -p:PublishAot=true -p:StripSymbols=false -o DIR)
set -euo pipefail
ckpt=$1; rounds=$2; shift 2
args=("$@")
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-serial-XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/serial.py" <<'PY'
import re, sys
kernel = re.compile(r'Q40Vector|EncodeHalf|Q40Pipeline|Q40Scalar')
samples, cur = [], None
for line in sys.stdin:
    line = line.rstrip('\n')
    if not line.strip():
        if cur: samples.append(cur)
        cur = None
    elif not line.startswith('\t'):
        p = line.split(); cur = (int(p[0]), float(p[1].rstrip(':')), [])
    else:
        p = line.strip().split(None, 1); cur[2].append(p[1] if len(p) > 1 else '?')
if cur: samples.append(cur)
t0, main = samples[0][1], samples[0][0]
hits = [s[1] for s in samples if any(kernel.search(f) for f in s[2][:4])]
first, last = hits[0], hits[-1]
pre = [s for s in samples if s[1] < first]
ms = lambda n: n / 4.0
main_pre = sum(1 for s in pre if s[0] == main)
gc = sum(1 for s in pre if any('GarbageCollectGeneration' in f for f in s[2]))
tail = sum(1 for s in samples if s[1] > last and s[0] == main)
print(f"first-kernel {1000 * (first - t0):6.1f} ms wall; main-thread CPU before it {ms(main_pre):6.1f} ms (GC {ms(gc):5.1f} ms); "
      f"all threads {ms(len(pre)):6.1f} ms; main-thread CPU after the last kernel sample {ms(tail):4.1f} ms")
# The writer (main thread) drains the producers' first chunk once the graph is built, typed and planned; producer CPU
# before that is the work that overlapped the serial start.
drains = [s[1] for s in samples if s[0] == main and any('DrainTo' in f for f in s[2])]
if drains:
    d = drains[0]
    print(f"    first drain {1000 * (d - t0):6.1f} ms wall; main-thread CPU before it {ms(sum(1 for s in samples if s[0] == main and s[1] < d)):6.1f} ms; "
          f"other threads' CPU before it {ms(sum(1 for s in samples if s[0] != main and s[1] < d)):6.1f} ms; all threads' CPU {ms(len(samples)):6.1f} ms")
PY
for r in $(seq "$rounds"); do
  for ((i = 0; i < ${#args[@]}; i += 2)); do
    rm -rf "$work/out"
    perf record -q -F 4000 -g -o "$work/perf.data" "${args[i+1]}" export-llm -d "$ckpt" -e "$work/out" \
      -dt f16 -f32-attn -c min_max_q4_0_all -nv > /dev/null 2>&1
    printf "round %d %-10s load %5s  " "$r" "${args[i]}" "$(cut -d' ' -f1 /proc/loadavg)"
    perf script -i "$work/perf.data" -F tid,time,ip,sym 2>/dev/null | python3 "$work/serial.py"
  done
done
