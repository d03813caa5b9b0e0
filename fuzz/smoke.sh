#!/usr/bin/env bash
# CI smoke test of the fuzz harness (called by .ci/run): builds and instruments it (incrementally: fuzz/.work/publish
# and the instrumented fuzz/.work/bin are kept), checks in one process that every seed satisfies its target's
# contract, then runs afl-fuzz on every target for T2N_FUZZ_SMOKE_SECONDS (default 4), two targets at a time.
# Fails on a crash, a confirmed hang, a seed that breaks the contract, or a target that cannot start.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
seconds=${T2N_FUZZ_SMOKE_SECONDS:-4}
start=$SECONDS

# Everything but the build is made afresh: seeds, afl-fuzz output, findings, logs and results of an earlier run.
mkdir -p "$WORK_DIR"
find "$WORK_DIR" -mindepth 1 -maxdepth 1 ! -name publish ! -name bin -exec rm -rf {} +
fuzz_install && fuzz_build || exit 1
echo "fuzz smoke: harness built and instrumented in $((SECONDS - start)) s"
# `seeds all` prints "<target>: <n> seed(s)" for every target of the catalog, in order: the list of targets.
seeded=$(fuzz_seeds all) || exit 1
targets=$(awk -F: '{ print $1 }' <<<"$seeded")
[ -n "$targets" ] || { echo "fuzz smoke: no targets" >&2; exit 1; }

failed=0
fuzz_replay_all || failed=1
echo "fuzz smoke: seeds replayed at $((SECONDS - start)) s"

# Two afl-fuzz instances at once (the machine has two cores); each prints its result line when done.
running=0
for t in $targets; do
  fuzz_afl "$t" "$seconds" >"$WORK_DIR/$t.result" 2>&1 &
  running=$((running + 1))
  if [ $running -eq 2 ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ $running -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
for t in $targets; do cat "$WORK_DIR/$t.result"; done

total=$(for t in $targets; do cat "$WORK_DIR/$t.result"; done | awk '$4 == "execs" { n += $3 } END { print n + 0 }')
echo "fuzz smoke: $(echo $targets | wc -w) targets, ${seconds} s each, $total execs, $((SECONDS - start)) s in all"
if [ $failed -ne 0 ]; then
  echo "fuzz smoke: FAILED (inputs kept in $WORK_DIR/findings)" >&2
fi
exit $failed
