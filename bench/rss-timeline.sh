#!/usr/bin/env bash
# Runs a command and logs its memory every 0.2 s: seconds since start, then VmHWM (peak RSS so far, the kernel's own
# high-water mark, so the last line's value is exact), RssAnon (heap), RssFile (mapped files) and RssShmem, in KB.
# The command's output goes to LOG.stdout. Tells garbage (RssAnon rising and falling) from mapped pages (RssFile).
#
# Usage: bench/rss-timeline.sh LOG COMMAND [ARGS...]
#   e.g.  bench/rss-timeline.sh /tmp/rss.log t2n export-llm -d CKPT -e OUT -dt f16 -f32-attn -c min_max_q4_0_all
set -uo pipefail
log=$1; shift
: > "$log"
"$@" > "$log.stdout" 2>&1 &
pid=$!
t0=$(date +%s.%N)
while kill -0 "$pid" 2>/dev/null; do
  s=$(awk '/^(RssAnon|RssFile|VmHWM|RssShmem)/{printf "%s %s ", $1, $2}' "/proc/$pid/status" 2>/dev/null)
  [ -n "$s" ] && echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}') $s" >> "$log"
  sleep 0.2
done
wait "$pid"; rc=$?
echo "exit $rc; peak RSS $(tail -1 "$log" | awk '{print int($3 / 1024)}') MB"
exit $rc
