#!/usr/bin/env bash
# run_mpi.sh NP|singleton PROGRAM ARGS... — runs a test program the way its MPI test needs,
# bounded in time: under `mpirun --oversubscribe -np NP`, or on its own (a singleton that
# spawns its workers). Only rank 0 runs GoogleTest, so the test's output and its XML
# ($XML_OUTPUT_FILE, which mpirun passes on with the rest of the environment) are rank 0's.
#
# Root: mpirun needs --allow-run-as-root, and a spawning singleton needs
# OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 (the variables cover both).
# Oversubscription (more ranks than cores): OMPI_MCA_rmaps_base_oversubscribe=1 covers mpirun
# and spawn alike. Open MPI's session files go to a private folder under /tmp (its socket
# paths must stay short; TEST_TMPDIR is too long), and so do its shared-memory files (below).
set -euo pipefail
np=$1
program=$2
shift 2
export OMPI_MCA_rmaps_base_oversubscribe=1
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
session=$(mktemp -d /tmp/cf-mpi.XXXXXX)
trap 'rm -rf "$session"' EXIT
export TMPDIR=$session
# Bazel's sandbox gives each test its own pid namespace, so concurrent tests' mpirun (or
# singleton) processes have the same small pids, hence the same Open MPI job ids, hence the same
# shared-memory file names in /dev/shm: two tests then talk into each other's segments and hang.
# Their shared-memory files go to the private folder too.
export OMPI_MCA_btl_vader_backing_directory=$session
export OMPI_MCA_shmem_mmap_backing_file_base_dir=$session
# Under --config=asan, AddressSanitizer checks every rank, but not for leaks: Open MPI 4.1.4
# leaves about 3,350 blocks (~117 KB) per rank allocated at MPI_Finalize, in frames LeakSanitizer
# cannot attribute (Open MPI is built without frame pointers, its components are dlopen'ed),
# so no suppression can single them out. cf's other tests keep leak checking.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# Under --config=tsan, reports inside Open MPI's own code are suppressed (tsan_suppressions.txt
# says which and why); everything else, cf's code included, is reported as usual.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$here/tsan_suppressions.txt"
limit=${CF_MPI_TEST_LIMIT:-240}
run() {
  if [[ $np == singleton ]]; then
    timeout -k 10 "$limit" "$program" "$@"
  else
    timeout -k 10 "$limit" mpirun --oversubscribe -np "$np" "$program" "$@"
  fi
}
# Debian 12's Open MPI 4.1.4 with its external PMIx 4.2 now and then never returns from
# MPI_Comm_spawn (upstream's intermittent spawn hang of Open MPI 4.1 with PMIx 4; docs/mpi.md).
# cf bounds that wait and says so ("did not return within"), after which MPI is unusable in that
# process. Then, and only then, the program runs again (at most twice more), and says so; any
# other failure fails the test at once.
spawn_hung='MPI_Comm_spawn of .* did not return within'
for attempt in 1 2 3; do
  log=$session/attempt$attempt.log
  set +e
  run "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -eq 0 ]] || ! grep -q "$spawn_hung" "$log" || [[ $attempt -eq 3 ]]; then
    exit "$status"
  fi
  echo "run_mpi.sh: Open MPI's MPI_Comm_spawn hung (attempt $attempt, above); running again" >&2
done
