# Shared by fuzz/run.sh and fuzz/smoke.sh (sourced, not run): installs what fuzzing needs, builds and instruments
# the harness, makes seed corpora, runs afl-fuzz on one target and reports what it did.
#
# Environment: T2N_FUZZ_WORK (work folder, default fuzz/.work, git-ignored), T2N_GOLDEN (default ../shared/golden),
# T2N_FUZZ_TIMEOUT_MS (afl-fuzz per-input timeout, default 2000), T2N_FUZZ_HEAP_LIMIT (GC heap cap, default 1.5 GiB).

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$FUZZ_DIR")
GOLDEN_DIR=${T2N_GOLDEN:-$REPO_DIR/../shared/golden}
WORK_DIR=${T2N_FUZZ_WORK:-$FUZZ_DIR/.work}
HARNESS="$WORK_DIR/bin/TorchToNnef.Fuzz.dll"
# Readers that take a path get each input as a file: on tmpfs when there is one (several times faster).
SCRATCH_ROOT="$WORK_DIR/scratch"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then SCRATCH_ROOT="/dev/shm/t2n-fuzz-$$"; fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# afl-fuzz (Debian package afl++) and the SharpFuzz instrumenter (local dotnet tool, fuzz/dotnet-tools.json).
# Idempotent: installs only what is missing.
fuzz_install() {
  if ! command -v afl-fuzz >/dev/null 2>&1; then
    local sudo=
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null 2>&1 || { echo "error: afl-fuzz is missing and installing it needs root (apt-get install afl++)" >&2; return 1; }
      sudo=sudo
    fi
    echo "installing afl++ (Debian package)"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null
  fi
  (cd "$FUZZ_DIR" && dotnet tool restore >/dev/null)
}

# Publishes the harness into $WORK_DIR/publish (kept: MSBuild rebuilds only what changed), then copies it to
# $WORK_DIR/bin and instruments our two assemblies there, never the build outputs under src/ that the tests use.
# bin is made afresh from publish whenever a published file changed (an instrumented file must never be instrumented
# again); a run with nothing to rebuild reuses the instrumented bin. Changes are told by content, not by date:
# publish keeps a NuGet package's file dates, so a package upgrade can bring an older file.
fuzz_build() {
  local pub="$WORK_DIR/publish" bin="$WORK_DIR/bin" stamp="$WORK_DIR/bin/.published.sha256" sums
  dotnet publish "$FUZZ_DIR/TorchToNnef.Fuzz" -c Release -o "$pub" -v quiet -nologo >"$WORK_DIR/build.log" 2>&1 \
    || { cat "$WORK_DIR/build.log" >&2; return 1; }
  sums=$(cd "$pub" && find . -type f -print0 | sort -z | xargs -0 sha256sum) || return 1
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sums" ]; then
    return 0
  fi
  rm -rf "$bin"
  cp -a "$pub" "$bin" || return 1
  # The two assemblies are instrumented at once (one process each, independent files).
  local asm pids=() status=0
  for asm in TorchToNnef.Core TorchToNnef.Formats; do
    (cd "$FUZZ_DIR" && dotnet tool run sharpfuzz "$bin/$asm.dll" >"$WORK_DIR/instrument-$asm.log" 2>&1) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  if [ $status -ne 0 ]; then
    cat "$WORK_DIR"/instrument-*.log >&2
    return 1
  fi
  printf '%s\n' "$sums" >"$stamp"
}

fuzz_targets() { dotnet "$HARNESS" list | awk '{print $1}'; }

# Seeds of one target (or all): derived from the goldens at run time, plus fuzz/seeds/<target>/. Prints one line per
# target, "<target>: <n> seed(s)".
fuzz_seeds() {
  rm -rf "$WORK_DIR/seeds/$1"
  [ "$1" != all ] || rm -rf "$WORK_DIR/seeds"
  dotnet "$HARNESS" seeds "$1" "$GOLDEN_DIR" "$WORK_DIR/seeds" "$FUZZ_DIR/seeds"
}

# Replays files or folders through a target in-process; exit status 1 when one breaks the contract.
fuzz_replay() { dotnet "$HARNESS" replay "$@"; }

# Replays every target's seeds ($WORK_DIR/seeds/<target>/) in one process; exit status 1 on any finding.
fuzz_replay_all() { dotnet "$HARNESS" replay-all "$WORK_DIR/seeds"; }

# Runs afl-fuzz on target $1 for $2 seconds, prints one result line and keeps what it found in
# $WORK_DIR/findings/<target>/. Returns 1 when it saved a crash, or a hang that replay confirms.
fuzz_afl() {
  local target=$1 seconds=$2
  local out="$WORK_DIR/out/$target" log="$WORK_DIR/log/$target.log" found="$WORK_DIR/findings/$target"
  rm -rf "$out" "$found" "$SCRATCH_ROOT/$target"
  mkdir -p "$WORK_DIR/log" "$WORK_DIR/out" "$SCRATCH_ROOT/$target" "$found"
  # Persistent mode: one dotnet process serves every input; afl-fuzz sees only our instrumented code, hence the
  # skipped binary check. The GC heap cap turns a runaway allocation into an OutOfMemoryException (a crash).
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
  AFL_FAST_CAL=1 T2N_FUZZ_SCRATCH="$SCRATCH_ROOT/$target" \
  DOTNET_GCHeapHardLimit=${T2N_FUZZ_HEAP_LIMIT:-0x60000000} DOTNET_TieredPGO=0 \
    afl-fuzz -i "$WORK_DIR/seeds/$target" -o "$out" -V "$seconds" -t "${T2N_FUZZ_TIMEOUT_MS:-2000}" -m none \
      -- dotnet "$HARNESS" fuzz "$target" >"$log" 2>&1
  local status=$?
  rm -rf "$SCRATCH_ROOT/$target"; rmdir "$SCRATCH_ROOT" 2>/dev/null
  local stats="$out/default/fuzzer_stats"
  if [ $status -ne 0 ] || [ ! -f "$stats" ]; then
    echo "$target: afl-fuzz failed (status $status); end of $log:" >&2
    tail -n 25 "$log" >&2
    return 1
  fi

  stat_of() { awk -v k="$1" '$1 == k { print $3 }' "$stats"; }
  local crashes hangs confirmed=0
  crashes=$(stat_of saved_crashes)
  hangs=$(stat_of saved_hangs)
  printf '%-18s %5ss %10s execs %9s execs/s %5s corpus %5s edges %3s crashes %3s hangs\n' \
    "$target" "$(stat_of run_time)" "$(stat_of execs_done)" "$(stat_of execs_per_sec)" "$(stat_of corpus_count)" \
    "$(stat_of edges_found)" "$crashes" "$hangs"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$(stat_of run_time)" "$(stat_of execs_done)" "$(stat_of execs_per_sec)" \
    "$(stat_of corpus_count)" "$(stat_of edges_found)" "$crashes" "$hangs" >>"$WORK_DIR/results.tsv"

  cp "$out"/default/crashes/id* "$found"/ 2>/dev/null
  for f in "$out"/default/hangs/id*; do
    [ -e "$f" ] || continue
    cp "$f" "$found/hang-$(basename "$f")"
  done
  local f replay known
  for f in "$found"/*; do
    [ -e "$f" ] || continue
    replay=$(fuzz_replay "$target" "$f")
    if [ $? -eq 0 ]; then
      # A hang afl-fuzz saw (its timeout is short) that replay does not reproduce is reported, not failed on.
      echo "$target: not reproduced by replay: $f"
      [[ $(basename "$f") == hang-* ]] || confirmed=1
    elif known=$(fuzz_known "$target" "$replay"); then
      echo "$target: KNOWN ($known): $f"
    else
      echo "$target: FINDING kept in $f; replay:"
      echo "$replay" | sed 's/^/  /'
      confirmed=1
    fi
  done
  return $confirmed
}

# Prints the reason of the first line of fuzz/known-findings.tsv for target $1 whose pattern matches replay output $2.
fuzz_known() {
  local target pattern why
  while IFS=$'\t' read -r target pattern why; do
    [[ -z $target || $target == \#* || $target != "$1" ]] && continue
    if grep -Eq -- "$pattern" <<<"$2"; then
      echo "$why"
      return 0
    fi
  done <"$FUZZ_DIR/known-findings.tsv"
  return 1
}
