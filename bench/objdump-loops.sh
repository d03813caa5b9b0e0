#!/usr/bin/env bash
# Instruction count of each loop of one function of a binary with symbols (e.g. an AOT t2n published with
# -p:StripSymbols=false): disassembles the function whose symbol contains PATTERN (first match) and prints, for every
# backward branch, the number of instructions from its target to the branch (one loop body).
#
# Usage: bench/objdump-loops.sh BINARY PATTERN
#   e.g. bench/objdump-loops.sh /tmp/aot/t2n Q40Vector256Kernel__ScalesFromHalves
set -euo pipefail
bin=$1; pattern=$2
read -r addr size name < <(nm -S --defined-only "$bin" | grep -F -- "$pattern" | grep -v 'DisplayClass' | awk '$3 ~ /^[tT]$/ {print $1, $2, $4; exit}')
[ -n "${addr:-}" ] || { echo "no function matching $pattern in $bin" >&2; exit 1; }
start=$((16#$addr)); end=$((start + 16#$size))
objdump -d --no-show-raw-insn --start-address=$start --stop-address=$end "$bin" |
  awk -v name="$name" '
    function hex(s,   i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
    /^ *[0-9a-f]+:\t/ { a = hex(substr($1, 1, length($1) - 1)); addr[n] = a; index_of[a] = n; line[n] = $0; n++ }
    END {
      printf "%s: %d instructions\n", name, n
      for (i = 0; i < n; i++) {
        split(line[i], f, "\t"); op = f[2]
        if (op ~ /^j/ && match(op, /[0-9a-f]+ </)) {
          t = hex(substr(op, RSTART, RLENGTH - 2))
          if (t <= addr[i] && (t in index_of)) printf "  loop %x..%x: %d instructions\n", t, addr[i], i - index_of[t] + 1
        }
      }
    }'
