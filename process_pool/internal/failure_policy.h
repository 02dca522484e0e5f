// cf/process_pool/internal/failure_policy.h — the one place that decides what a worker's end
// means for the pool, and that words every error the pool reports.
//
// Not part of the public API.
//
// The policy (docs/semantics.md, process pool; WorkerDeath in worker_death.h):
//   a worker that exits after kShutdown (goodbye), or dies while the pool holds no work
//     → replaced on demand; nobody is told;
//   a worker that dies while the pool has work (pending or in flight), whose initializer threw,
//   that exits before its hello, or that breaks the protocol
//     → the pool breaks: every pending and running future fails with its own BrokenProcessPool
//       ("... terminated abruptly ..." plus the worker's pid and how it ended), Submit throws;
//   a worker that cannot be started (or exits before its hello because it could not set up its
//   pipes)
//     → with other workers alive, the pool goes on with those (a note on stderr says why it has
//       fewer); with none, the pool breaks with a message that says no worker could start.
// With WorkerDeath::kFailTask or kRetryTask, a worker that dies is replaced instead (one that
// ended before it was ready, kMaxStartFailures times in a row, still breaks the pool), and only the call it was running fails (or runs again, up to
// max_retries); a worker the pool ended (a task timeout) is a planned exit; workers ended by
// TerminateWorkers/KillWorkers or Shutdown's deadline break the pool whatever the policy.
//
// Thread safety: pure functions.
#ifndef CF_PROCESS_POOL_INTERNAL_FAILURE_POLICY_H_
#define CF_PROCESS_POOL_INTERNAL_FAILURE_POLICY_H_

#include <sys/types.h>

#include <cstdint>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/pool_config.h"

namespace cf::internal {

// Why a pool broke: the words of its futures' and Submit's BrokenProcessPool.
struct Breakage {
  enum Kind {
    kAbrupt,       // a worker ended unexpectedly (Python's "terminated abruptly" texts)
    kCannotStart,  // no worker could be started at all
  };
  Kind kind = kAbrupt;
  std::string detail;  // which worker, how it ended, what to do
};
// The exception each pending or running future gets.
std::exception_ptr BrokenFutureError(const Breakage& breakage);
// What Submit throws once the pool is broken.
std::exception_ptr BrokenSubmitError(const Breakage& breakage);

// A worker's end as the manager saw it.
struct WorkerEnd {
  pid_t pid = -1;
  absl::StatusOr<int> wait_status;  // or why it cannot be known
  bool said_hello = false;          // it started properly
  bool said_goodbye = false;        // it exited as told (kShutdown)
  bool held_calls = false;          // calls were in flight on it
  bool pool_has_work = false;       // anything pending or in flight anywhere
  int other_live_workers = 0;
  std::string init_error;           // what its initializer threw, if it did
  bool ended_by_pool = false;       // its call timed out and the pool ended it
  bool terminating = false;         // TerminateWorkers/KillWorkers, Shutdown's kTerminate/kKill
  int start_failures = 0;           // workers before it that ended unready, in a row
};

// kFailTask/kRetryTask: how many workers in a row may end before they are ready (no hello, or
// a failing initializer) before the pool breaks instead of starting another.
inline constexpr int kMaxStartFailures = 3;

struct Decision {
  // kSettleCalls: the pool goes on (WorkerDeath::kFailTask / kRetryTask); the calls the worker
  // held but had not started run elsewhere, the one it ran fails or runs again.
  enum Verdict { kForget, kBreakPool, kSettleCalls } verdict = kForget;
  Breakage breakage;           // for kBreakPool
  bool start_failure = false;  // kSettleCalls for a worker that ended before it was ready
};
// kForget with a non-empty `note`: the worker could not start (no descriptor left...) while
// others are alive; its calls never ran (run them elsewhere) and the pool stops growing.
Decision DecideOnExit(const WorkerEnd& end, const PoolConfig& config, std::string* note);

// Starting a worker failed with `status` while `live_workers` others are alive: kForget (go on
// with them; `note` says why the pool has fewer) or kBreakPool.
Decision DecideOnStartFailure(const absl::Status& status, int live_workers,
                              const PoolConfig& config, std::string* note);

// WorkerDiedError for a call whose worker died while running it: `deaths` workers so far, and
// whether it is run again (then the error is not delivered: only its words are used).
std::exception_ptr WorkerDiedException(absl::string_view task, pid_t pid,
                                       const absl::StatusOr<int>& wait_status, int deaths,
                                       const PoolConfig& config);
// TaskTimeoutError for a call that ran past its timeout in worker `pid`.
std::exception_ptr TaskTimeoutException(absl::string_view task, absl::Duration timeout, pid_t pid,
                                        const PoolConfig& config);

// A worker that has not said hello by its start deadline (it is killed).
Breakage StartTimeout(pid_t pid, const PoolConfig& config);
// A worker or fork server that broke the protocol or whose stream is malformed.
Breakage ProtocolBreakage(absl::string_view what);

// "signal 11 (SIGSEGV)", "exit code 3", or why the status cannot be known.
std::string HowItEnded(const absl::StatusOr<int>& wait_status);

// Payloads over the frame limit (SerializationError messages).
std::string OversizeArgumentMessage(absl::string_view task, std::uint64_t size,
                                    std::uint64_t limit);
std::string OversizeResultMessage(absl::string_view task, bool is_result, std::uint64_t size,
                                  std::uint64_t limit);
// A pool used in a process that fork() copied it into.
std::string ForeignProcessMessage(pid_t owner);

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_FAILURE_POLICY_H_
