#include "cf/process_pool/internal/failure_policy.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {
namespace {

// Python's texts.
constexpr char kBrokenFuture[] =
    "A process in the process pool was terminated abruptly while the future was running or "
    "pending.";
constexpr char kBrokenPool[] =
    "A child process terminated abruptly, the process pool is not usable anymore";
// cf's, for a pool that never had a worker to lose.
constexpr char kNoWorkerFuture[] = "The process pool could not start a worker to run the future.";
constexpr char kNoWorkerPool[] =
    "The process pool could not start any worker, the process pool is not usable anymore";

std::string MissingInitHint(const PoolConfig& config) {
  return absl::StrCat(
      "the worker program (", config.worker_binary.empty() ? "this program" : config.worker_binary,
      ") must call cf::InitProcessPool(argc, argv) first thing in main() for StartMethod::",
      config.start_method == StartMethod::kSpawn ? "kSpawn" : "kForkServer",
      "; or use StartMethod::kFork");
}

// A worker that ended before its hello: the likeliest cause, from its exit status.
std::string WhyNoHello(const WorkerEnd& end, const PoolConfig& config) {
  const std::string how = HowItEnded(end.wait_status);
  if (end.wait_status.ok() && WIFEXITED(*end.wait_status)) {
    switch (WEXITSTATUS(*end.wait_status)) {
      case kMissingInitExitCode:
        return absl::StrCat("worker ", end.pid, " exited with ", how,
                            " because it reached a ProcessPoolExecutor instead of running as a "
                            "worker: ",
                            MissingInitHint(config));
      case kSetupFailedExitCode:
        return absl::StrCat("worker ", end.pid, " exited with ", how,
                            " because it could not put its pipes in place (out of file "
                            "descriptors? its message on stderr names the error)");
      default:
        break;
    }
  }
  return absl::StrCat("worker ", end.pid, " exited with ", how, " before it started",
                      config.start_method == StartMethod::kFork
                          ? std::string()
                          : absl::StrCat("; ", MissingInitHint(config)));
}

}  // namespace

std::exception_ptr BrokenFutureError(const Breakage& breakage) {
  return std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
      breakage.kind == Breakage::kAbrupt ? kBrokenFuture : kNoWorkerFuture, " (",
      breakage.detail, ")")));
}

std::exception_ptr BrokenSubmitError(const Breakage& breakage) {
  return std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
      breakage.kind == Breakage::kAbrupt ? kBrokenPool : kNoWorkerPool, " (", breakage.detail,
      ")")));
}

std::string HowItEnded(const absl::StatusOr<int>& wait_status) {
  if (wait_status.ok()) return DescribeWaitStatus(*wait_status);
  return absl::StrCat("an unknown status (", wait_status.status().message(), ")");
}

Decision DecideOnExit(const WorkerEnd& end, const PoolConfig& config, std::string* note) {
  Decision d;
  const bool missing_init = end.wait_status.ok() && WIFEXITED(*end.wait_status) &&
                            WEXITSTATUS(*end.wait_status) == kMissingInitExitCode;
  const bool unready = !end.init_error.empty() || !end.said_hello;
  if (unready && !missing_init && config.on_worker_death != WorkerDeath::kBreakPool &&
      !end.terminating && end.start_failures + 1 < kMaxStartFailures) {
    d.verdict = Decision::kSettleCalls;  // maybe bad luck (a kill, a full machine): once more
    d.start_failure = true;
    return d;
  }
  if (!end.init_error.empty()) {
    d.verdict = Decision::kBreakPool;
    d.breakage.detail =
        absl::StrCat("the initializer failed in worker ", end.pid, ": ", end.init_error);
    return d;
  }
  if (!end.said_hello) {
    if (end.other_live_workers > 0 && end.wait_status.ok() && WIFEXITED(*end.wait_status) &&
        WEXITSTATUS(*end.wait_status) == kSetupFailedExitCode) {
      *note = absl::StrCat("cf: process pool: ", WhyNoHello(end, config), "; going on with the ",
                           end.other_live_workers, " workers it has (max_workers = ",
                           config.max_workers, ")");
      return d;
    }
    d.verdict = Decision::kBreakPool;
    d.breakage.detail = WhyNoHello(end, config);
    return d;
  }
  const bool planned = (end.said_goodbye || end.ended_by_pool) && !end.held_calls;
  if (!planned && config.on_worker_death != WorkerDeath::kBreakPool && !end.terminating) {
    d.verdict = Decision::kSettleCalls;
    return d;
  }
  if (!planned && (end.pool_has_work || end.held_calls)) {
    d.verdict = Decision::kBreakPool;
    d.breakage.detail = absl::StrCat("worker ", end.pid, " died with ", HowItEnded(end.wait_status));
    return d;
  }
  return d;  // planned, or idle in an idle pool: replaced on demand
}

Decision DecideOnStartFailure(const absl::Status& status, int live_workers,
                              const PoolConfig& config, std::string* note) {
  Decision d;
  std::string cause = std::string(status.message());
  // A fork server that started but exited or stayed silent: the usual cause is a main()
  // without cf::InitProcessPool. (A program that cannot be executed at all says so itself.)
  if (status.code() == absl::StatusCode::kFailedPrecondition ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    absl::StrAppend(&cause, "; ", MissingInitHint(config));
  }
  if (live_workers > 0) {
    *note = absl::StrCat("cf: process pool: could not start another worker (", cause,
                         "); going on with the ", live_workers, " it has (max_workers = ",
                         config.max_workers, ")");
    return d;
  }
  d.verdict = Decision::kBreakPool;
  d.breakage.kind = Breakage::kCannotStart;
  d.breakage.detail = absl::StrCat("could not start a worker: ", cause);
  return d;
}

std::exception_ptr WorkerDiedException(absl::string_view task, pid_t pid,
                                       const absl::StatusOr<int>& wait_status, int deaths,
                                       const PoolConfig& config) {
  int signal = 0;
  int exit_code = -1;
  if (wait_status.ok() && WIFSIGNALED(*wait_status)) signal = WTERMSIG(*wait_status);
  if (wait_status.ok() && WIFEXITED(*wait_status)) exit_code = WEXITSTATUS(*wait_status);
  std::string message = absl::StrCat(kBrokenFuture, " (worker ", pid, " died with ",
                                     HowItEnded(wait_status), " while running task '", task, "'");
  if (config.on_worker_death == WorkerDeath::kRetryTask) {
    absl::StrAppend(&message, "; the call killed its worker ", deaths,
                    deaths == 1 ? " time" : " times", ", and max_retries is ", config.max_retries);
  }
  absl::StrAppend(&message, "; the pool goes on)");
  return std::make_exception_ptr(WorkerDiedError(std::move(message), pid, signal, exit_code,
                                                 deaths));
}

std::exception_ptr TaskTimeoutException(absl::string_view task, absl::Duration timeout, pid_t pid,
                                        const PoolConfig& config) {
  return std::make_exception_ptr(TaskTimeoutError(
      absl::StrCat("task '", task, "' ran past its timeout of ", absl::FormatDuration(timeout),
                   " in worker ", pid, "; the worker and the processes it started were sent "
                   "SIGTERM (SIGKILL after ", absl::FormatDuration(config.kill_grace),
                   ") and a new worker replaces it"),
      pid));
}

Breakage StartTimeout(pid_t pid, const PoolConfig& config) {
  Breakage b;
  b.detail = absl::StrCat(
      "worker ", pid, " did not start within ", absl::FormatDuration(config.start_timeout), ": ",
      config.start_method == StartMethod::kFork
          ? "the forked child is stuck before its first frame (a lock that another thread held "
            "at fork()?); use StartMethod::kForkServer or kSpawn in multi-threaded programs"
          : MissingInitHint(config));
  return b;
}

Breakage ProtocolBreakage(absl::string_view what) {
  Breakage b;
  b.detail = std::string(what);
  return b;
}

std::string OversizeArgumentMessage(absl::string_view task, std::uint64_t size,
                                    std::uint64_t limit) {
  return absl::StrCat("the arguments of task '", task, "' encode to ", size,
                      " bytes, over the process pool's frame limit of ", limit,
                      " bytes; raise ProcessPoolExecutor::Options::max_payload_size, or pass "
                      "the data another way (a file, shared memory)");
}

std::string OversizeResultMessage(absl::string_view task, bool is_result, std::uint64_t size,
                                  std::uint64_t limit) {
  return absl::StrCat("the ", is_result ? "result" : "exception", " of task '", task,
                      "' encodes to ", size, " bytes, over the process pool's frame limit of ",
                      limit, " bytes; raise ProcessPoolExecutor::Options::max_payload_size");
}

std::string ForeignProcessMessage(pid_t owner) {
  return absl::StrCat("this ProcessPoolExecutor belongs to process ", owner,
                      "; process ", getpid(),
                      " is a fork() copy of it, where the pool has no workers and no manager: "
                      "make a new ProcessPoolExecutor in this process");
}

std::exception_ptr UndecodableResultError(const std::string& task, absl::string_view why) {
  return std::make_exception_ptr(
      BrokenProcessPool(absl::StrCat("the result of task '", task,
                                     "' could not be decoded in the parent: ", why,
                                     " (the pool is still usable)")));
}

}  // namespace cf::internal
