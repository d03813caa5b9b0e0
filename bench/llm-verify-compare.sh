#!/usr/bin/env bash
# The default export-llm (with its check-io verification) of several t2n builds on the same synthetic checkpoint,
# interleaved round by round, so that a before/after comparison of the verification is made under the same load (the
# machine is shared: compare CPU time, and wall times within a round).
#
# Each round runs every t2n in turn:
#   export-llm -dt f16 -f32-attn -c min_max_q4_0_all        (default verification at the default tolerance)
# and reports the `verified ... in X s` time t2n prints, process wall, CPU (user+sys) and peak RSS (GNU time's maximum
# resident set size: file-backed pages included), then the medians (max for RSS). Exports go to a scratch folder,
# deleted at the end; the check-io bundles (tests/*.npz) of each build are compared with the first build's.
#
# Usage: bench/llm-verify-compare.sh CKPT RUNS NAME 'T2N COMMAND' [NAME 'T2N COMMAND' ...]
#   CKPT: a checkpoint folder (dotnet $B gen-llm-checkpoint --dir CKPT --size 1.1b)
#   e.g.  bench/llm-verify-compare.sh /tmp/ckpt 2 aot-before ./t2n-old aot-after ./t2n
set -euo pipefail

ckpt=$1; runs=$2; shift 2
names=(); cmds=()
while [ $# -ge 2 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
[ ${#names[@]} -gt 0 ] || { echo "usage: $0 CKPT RUNS NAME 'T2N COMMAND' [...]" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-llm-verify-XXXXXX")
trap 'rm -rf "$work"' EXIT

declare -A verify wall cpu rss
for r in $(seq "$runs"); do
  line="round $r (load $(cut -d' ' -f1 /proc/loadavg))"
  for i in "${!names[@]}"; do
    out="$work/out-$i"
    rm -rf "$out"
    read -r -a t2n <<< "${cmds[$i]}"
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "${t2n[@]}" export-llm -d "$ckpt" -e "$out" \
      -dt f16 -f32-attn -c min_max_q4_0_all > "$work/stdout" 2> "$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    v=$(grep '^verified' "$work/stdout" | grep -o 'in [0-9.]* s' | tr -dc '0-9.')
    read -r w u s m < "$work/t"
    c=$(echo "$u $s" | awk '{print $1 + $2}')
    verify[${names[$i]}]+="$v "; wall[${names[$i]}]+="$w "; cpu[${names[$i]}]+="$c "; rss[${names[$i]}]+="$m "
    line+=" | ${names[$i]} verified in $v s, $w s wall, $c s CPU, $((m / 1024)) MB"
    if [ "$i" -gt 0 ]; then
      for f in "$work"/out-0/tests/*.npz; do
        cmp -s "$f" "$out/tests/$(basename "$f")" || line+=" (${names[$i]}: $(basename "$f") differs from ${names[0]}'s)"
      done
    fi
  done
  echo "$line"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians of $runs rounds:"
for n in "${names[@]}"; do
  v=$(echo "${verify[$n]}" | median); w=$(echo "${wall[$n]}" | median); u=$(echo "${cpu[$n]}" | median)
  m=$(echo "${rss[$n]}" | tr ' ' '\n' | sort -g | tail -1)
  awk -v n="$n" -v v="$v" -v w="$w" -v u="$u" -v m="$m" 'BEGIN {
    printf "  %-12s verified in %.1f s; process %.1f s wall, CPU %.1f s; max peak RSS %.0f MB\n", n, v, w, u, m / 1024 }'
done
