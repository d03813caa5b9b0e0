#!/usr/bin/env bash
# Several t2n builds on the same synthetic checkpoint, interleaved with the `cat` baseline, so that a before/after
# comparison is made in one session under the same load (the machine is shared: compare ratios and CPU time).
#
# Each round: `cat <shards> > /dev/null` (warm), then every t2n in turn:
#   export-llm -dt f16 -f32-attn -c min_max_q4_0_all -nv
# Reports per round wall / CPU (user+sys) / peak RSS (GNU time, file-backed pages included) / minor page faults and the
# medians (CPU also split into user and system time, each its own median over the rounds).
#
# Usage: bench/llm-export-compare.sh CKPT RUNS NAME 'T2N COMMAND' [NAME 'T2N COMMAND' ...]
#   CKPT: a checkpoint folder (dotnet $B gen-llm-checkpoint --dir CKPT --size 1.1b)
#   e.g.  bench/llm-export-compare.sh /tmp/ckpt 3 aot-before ./t2n-old aot-after ./t2n jit "dotnet src/Cli/bin/Release/net10.0/t2n.dll"
set -euo pipefail

ckpt=$1; runs=$2; shift 2
names=(); cmds=()
while [ $# -ge 2 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
[ ${#names[@]} -gt 0 ] || { echo "usage: $0 CKPT RUNS NAME 'T2N COMMAND' [...]" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-llm-compare-XXXXXX")
trap 'rm -rf "$work"' EXIT

weights=0
cat "$ckpt"/*.safetensors > /dev/null
declare -A wall cpu usr sys rss flt
for r in $(seq "$runs"); do
  /usr/bin/time -f "%e" -o "$work/t" sh -c "cat '$ckpt'/*.safetensors > /dev/null"
  wall[cat]+="$(cat "$work/t") "
  line="round $r (load $(cut -d' ' -f1 /proc/loadavg)): cat $(cat "$work/t") s"
  for i in "${!names[@]}"; do
    rm -rf "$work/out"
    read -r -a t2n <<< "${cmds[$i]}"
    /usr/bin/time -f "%e %U %S %M %R" -o "$work/t" "${t2n[@]}" export-llm -d "$ckpt" -e "$work/out" \
      -dt f16 -f32-attn -c min_max_q4_0_all -nv > "$work/stdout" 2> "$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    weights=$(grep -o 'exported [0-9,]* weights' "$work/stdout" | tr -dc '0-9')
    read -r w u s m f < "$work/t"
    c=$(echo "$u $s" | awk '{print $1 + $2}')
    wall[${names[$i]}]+="$w "; cpu[${names[$i]}]+="$c "; usr[${names[$i]}]+="$u "; sys[${names[$i]}]+="$s "; rss[${names[$i]}]+="$m "; flt[${names[$i]}]+="$f "
    line+=" | ${names[$i]} $w s wall, $c s CPU ($u user + $s sys), $((m / 1024)) MB, $f faults"
  done
  echo "$line"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(echo "${wall[cat]}" | median)
echo "medians of $runs rounds ($weights weights): cat $c s"
for n in "${names[@]}"; do
  w=$(echo "${wall[$n]}" | median); u=$(echo "${cpu[$n]}" | median); m=$(echo "${rss[$n]}" | tr ' ' '\n' | sort -g | tail -1)
  us=$(echo "${usr[$n]}" | median); sy=$(echo "${sys[$n]}" | median); f=$(echo "${flt[$n]}" | median)
  awk -v n="$n" -v w="$w" -v c="$c" -v u="$u" -v us="$us" -v sy="$sy" -v m="$m" -v f="$f" -v p="$weights" 'BEGIN {
    printf "  %-12s wall %.2f s = %.2fx cat, %.2f G weights/s; CPU %.2f s (user %.2f, sys %.2f; %.2f G weights per CPU-second); max peak RSS %.0f MB; %d minor faults\n", n, w, w / c, p / w / 1e9, u, us, sy, p / u / 1e9, m / 1024, f }'
done
