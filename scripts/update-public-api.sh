#!/usr/bin/env bash
# Regenerates src/*/PublicAPI.Unshipped.txt from the code, mechanically: builds the libraries with the public API
# analyzer's RS0016 ("not part of the declared public API") and RS0017 ("declared but no longer public") as warnings,
# adds the symbols RS0016 names, drops the lines RS0017 names, and repeats until the build is clean. Run it after a
# merge that adds or changes public API (a build then fails with RS0016/RS0017), review the diff of the .txt files, and
# commit them with the code. PublicAPI.Shipped.txt is left alone (move lines there by hand when a version ships).
#
# Usage: scripts/update-public-api.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
libraries=(Core Formats Quant Export)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for pass in 1 2 3 4 5; do
  # --no-incremental: an up-to-date build prints no warnings. Other warnings stay errors; only RS0016/RS0017 pass.
  # Export references every other library, so one build sees them all.
  dotnet build "$repo/src/Export" -c Release --nologo --no-incremental -clp:NoSummary \
    "-p:WarningsNotAsErrors=RS0016%3BRS0017" > "$log" 2>&1 || true
  if grep -E "error [A-Z]+[0-9]+" "$log" | grep -vqE "RS001[67]"; then
    grep -E "error [A-Z]+[0-9]+" "$log" | sort -u | head -20 >&2
    echo "the build has errors other than the public API's; fix them first" >&2
    exit 1
  fi
  changed=0
  for lib in "${libraries[@]}"; do
    dir="$repo/src/$lib"
    unshipped="$dir/PublicAPI.Unshipped.txt"
    [ -f "$unshipped" ] || printf '#nullable enable\n' > "$unshipped"
    added=$(grep -E "^$dir/.*(warning|error) RS0016" "$log" | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" | sort -u || true)
    removed=$(grep -E "^$dir/.*(warning|error) RS0017" "$log" | sed -E "s/.*Symbol '(.*)' is part of the declared API.*/\1/" | sort -u || true)
    [ -z "$added$removed" ] && continue
    changed=1
    {
      echo '#nullable enable'
      { grep -v '^#nullable' "$unshipped" || true; printf '%s\n' "$added"; } \
        | { if [ -n "$removed" ]; then grep -vxF -f <(printf '%s\n' "$removed") || true; else cat; fi; } \
        | sed '/^$/d' | LC_ALL=C sort -u
    } > "$unshipped.new"
    mv "$unshipped.new" "$unshipped"
    echo "$lib: +$(printf '%s' "$added" | grep -c . || true) -$(printf '%s' "$removed" | grep -c . || true) (pass $pass)"
  done
  if [ "$changed" = 0 ]; then
    echo "PublicAPI.Unshipped.txt files are up to date"
    exit 0
  fi
done
echo "still changing after 5 passes; look at $log" >&2
exit 1
