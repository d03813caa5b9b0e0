#!/usr/bin/env bash
# Fuzzes one reader (or all, one after the other) with afl-fuzz for a while:
#   fuzz/run.sh <target|all> <seconds per target>
# Targets: fuzz/run.sh list. Results: one line per target (also appended to fuzz/.work/results.tsv); inputs that
# break the contract are kept in fuzz/.work/findings/<target>/ and replayed. See fuzz/README.md.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

if [ $# -eq 1 ] && [ "$1" = list ]; then
  mkdir -p "$WORK_DIR" && fuzz_install && fuzz_build && dotnet "$HARNESS" list
  exit
fi
if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh <target|all|list> <seconds per target>" >&2
  exit 2
fi

mkdir -p "$WORK_DIR"
fuzz_install && fuzz_build || exit 1
targets=$1
[ "$1" != all ] || targets=$(fuzz_targets)
failed=0
for t in $targets; do
  fuzz_seeds "$t" >/dev/null || exit 1
  fuzz_afl "$t" "$2" || failed=1
done
exit $failed
