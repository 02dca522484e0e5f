// cf/process_pool/process_pool_executor.h — cf::ProcessPoolExecutor and cf::InitProcessPool:
// Python's concurrent.futures.ProcessPoolExecutor.
//
// Tasks run in worker processes. A task is a free function registered with CF_TASK (see
// cf/serialization/task.h); its arguments travel to a worker and its result (or exception) back
// cereal-encoded, through memory the pool shares with each worker (process_pool/README.md).
// A cf::SharedBuffer argument is not copied at all: the worker maps the caller's pages.
//
//   // tasks.cc
//   int Square(int x) { return x * x; }
//   CF_TASK(Square);
//
//   int main(int argc, char** argv) {
//     cf::InitProcessPool(argc, argv);   // first: lets this program be a worker (kSpawn, kAuto)
//     cf::ProcessPoolExecutor pool({.max_workers = 4});
//     cf::Future<int> f = pool.Submit(&Square, 7);          // f.Result() == 49
//     for (int sq : pool.Map(&Square, std::vector<int>{1, 2, 3}, {.chunksize = 100})) ...
//   }
//
// Lifecycle (as in Python 3.14; docs/semantics.md lists every difference):
//   * Workers start on demand, at most max_workers (default: CPUs in this process's affinity
//     mask), and an idle worker is reused before a new one is started. StartMethod says how
//     (start_method.h); with max_tasks_per_child N a worker is replaced after N tasks, with every
//     start method. If a worker cannot be started (e.g. no file descriptor left) the pool goes on
//     with the workers it has, and says so on stderr; with none it breaks, saying why.
//   * A future is pending while queued (Cancel() works), running once handed to a worker
//     (docs/semantics.md deviation 2), then finished with the result or the task's exception:
//     std:: and cf:: exception types and CF_EXCEPTION types come back as themselves, others as
//     cf::RemoteError naming the type.
//   * One bad call fails only its own future: arguments that cannot be encoded (a throwing
//     save(), nesting deeper than 1000 levels, over Options::max_payload_size) throw at Submit;
//     a result that cannot be encoded or is over the limit fails that future.
//   * A worker that dies (a signal, exit(), abort()) while work is pending breaks the pool: every
//     pending and running future fails with its own cf::BrokenProcessPool ("A process in the
//     process pool was terminated abruptly while the future was running or pending." plus the
//     worker's pid and signal or exit code — or why the code cannot be known, e.g. SIGCHLD set
//     to SIG_IGN), and Submit throws BrokenProcessPool from then on. A failing initializer
//     breaks the pool the same way. That is Options::on_worker_death's default
//     (WorkerDeath::kBreakPool); kFailTask fails only the dead worker's running call with
//     cf::WorkerDiedError, kRetryTask runs it again up to max_retries times (worker_death.h).
//   * SubmitWith(TaskOptions{.timeout}) and MapOptions::chunk_timeout bound how long a call may
//     run: then it fails with cf::TaskTimeoutError, and its worker is ended and replaced.
//   * Shutdown(wait, cancel_futures) as ThreadPoolExecutor's; the destructor is Shutdown(true).
//     Shutdown(wait=true) waits for every queued (unless cancelled) and running call to finish
//     — as long as the task takes; a task that never returns, or a worker stopped with SIGSTOP
//     while running one, keeps it waiting, as in CPython — then tells each worker to exit and
//     SIGKILLs one that has not exited 5 s later (an idle worker that is stopped or wedged).
//     TerminateWorkers()/KillWorkers() (Python 3.14) cancel what is queued and SIGTERM (with
//     SIGCONT, so stopped workers end too) / SIGKILL every worker; running futures then fail
//     with BrokenProcessPool, and a worker that ignores SIGTERM is SIGKILLed kill_grace later,
//     so the destructor after them returns promptly. Shutdown(ShutdownOptions) bounds the wait
//     and says what to do at its deadline; AwaitTermination waits later; stats() reports.
//   * Nothing is left behind after Shutdown, the destructor or a broken pool: no child process,
//     no descriptor, no thread.
//
// kFork runs the task in a copy of this process, as CPython's "fork" does: if this process has
// other threads, the copy has only the forking one, and any lock another thread held at the
// fork stays held there forever (a mutex in your code or a library's). cf itself takes no such
// lock between fork() and your task; a task that takes one may hang. Prefer kForkServer (kAuto
// picks it whenever cf::InitProcessPool ran) or kSpawn in multi-threaded programs. Under GCC 12's
// AddressSanitizer or ThreadSanitizer even malloc is such a lock (their runtimes do not hold
// their allocators across fork()): there, use kForkServer or kSpawn.
//
// A pool copied into a child by the program's own fork() belongs to its parent: in the child,
// Submit throws BrokenProcessPool ("make a new ProcessPoolExecutor in this process"), and
// destroying the copy returns at once without touching the parent's workers.
//
// Thread safety: every method may be called from any thread, concurrently, including from
// done-callbacks (which run on the pool's manager thread; Shutdown(true) there does not wait,
// and destroying the pool there is safe: the manager finishes the remaining work and ends).
// Everything the task did in the worker happens-before its future completes in this process.
#ifndef CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_
#define CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_

#include <sys/types.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/process_pool/start_method.h"
#include "cf/process_pool/worker_death.h"
#include "cf/serialization/task.h"

namespace cf {

namespace internal {
class ProcessPoolExecutorPeer;
}  // namespace internal

class ProcessPoolExecutor {
 public:
  struct Options {
    // 0: CPUs in this process's affinity mask. Negative: std::invalid_argument.
    int max_workers = 0;
    StartMethod start_method = StartMethod::kAuto;
    // 0: workers live as long as the pool; N > 0: a worker is replaced after N tasks.
    int max_tasks_per_child = 0;
    // Runs once in every worker before its first task; if it throws, the pool is broken.
    TaskCall initializer{};
    // The program kSpawn and kForkServer start (default: this program); it must call
    // cf::InitProcessPool(argc, argv) first in main(). See cf_worker_binary() in defs.bzl.
    std::string worker_binary{};
    // The largest encoded arguments (of one Submit, or one Map chunk) or result a call may
    // have, in bytes; 0: the machine's physical memory (a payload cannot be larger anyway; Python
    // has no limit). Arguments over it fail at Submit with cf::SerializationError naming the
    // size and the limit; a result over it fails only its own future the same way.
    std::uint64_t max_payload_size = 0;
    // What a worker's death means for the calls it held (worker_death.h): Python's broken pool
    // (the default), only its call failing, or its call run again.
    WorkerDeath on_worker_death = WorkerDeath::kBreakPool;
    // kRetryTask: how many more times a call whose worker died is run (>= 0).
    int max_retries = 3;
    // How long a worker ended with SIGTERM (a task's timeout, Shutdown's kTerminate) has
    // before SIGKILL (> 0).
    absl::Duration kill_grace = absl::Seconds(1);
  };

  ProcessPoolExecutor();
  // std::invalid_argument("max_workers must be greater than 0") unless max_workers > 0.
  explicit ProcessPoolExecutor(int max_workers);
  explicit ProcessPoolExecutor(Options options);
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;
  // Shutdown(wait=true).
  ~ProcessPoolExecutor();

  // Schedules fn(args...) in a worker; fn must be registered with CF_TASK (std::invalid_argument
  // naming CF_TASK otherwise). Arguments are converted to fn's parameter types and encoded now
  // (SerializationError, or what a save() threw, if they cannot be; SerializationError if they
  // are over Options::max_payload_size). Throws BrokenProcessPool if the pool is broken or this
  // process is a fork() copy of the pool's, ShutdownError after Shutdown().
  template <typename R, typename... P, typename... A>
  Future<internal::TaskValue<R>> Submit(R (*fn)(P...), A&&... args) {
    using V = internal::TaskValue<R>;
    auto task = std::make_unique<internal::CallTask<V>>(TaskCall(fn, std::forward<A>(args)...));
    Future<V> future = task->GetFuture();
    core_->Submit(std::move(task));
    return future;
  }
  // Submit with per-call options: options.timeout bounds how long the call may run, counted
  // from when its future turns running (a worker took it). When it runs out, the future fails
  // with cf::TaskTimeoutError (naming the task, the timeout and the worker's pid), the worker
  // and every process it started (its process group) get SIGTERM, then SIGKILL kill_grace
  // later, and a new worker replaces it; every other call and the pool go on (calls the worker
  // held but had not started run elsewhere). A result that arrives before the pool acts on the
  // deadline wins; one after it is discarded: exactly one outcome. std::invalid_argument for a
  // timeout <= 0.
  template <typename R, typename... P, typename... A>
  Future<internal::TaskValue<R>> SubmitWith(const TaskOptions& options, R (*fn)(P...),
                                            A&&... args) {
    const absl::Duration timeout = CheckedTimeout(options.timeout, "TaskOptions::timeout");
    using V = internal::TaskValue<R>;
    auto task = std::make_unique<internal::CallTask<V>>(TaskCall(fn, std::forward<A>(args)...));
    task->set_timeout(timeout);
    Future<V> future = task->GetFuture();
    core_->Submit(std::move(task));
    return future;
  }
  template <typename F, typename... A>
    requires std::is_class_v<std::remove_cvref_t<F>>
  void Submit(F&&, A&&...) {
    static_assert(!std::is_class_v<std::remove_cvref_t<F>>,
                  "cf::ProcessPoolExecutor runs free functions registered with CF_TASK; lambdas "
                  "and function objects cannot be sent to another process");
  }

  // Python's map(): fn over every element of `inputs` (a tuple/pair element is spread into
  // several arguments), results in input order; one frame per chunk of options.chunksize
  // inputs. See cf/core/executor.h for timeout, buffersize and early destruction.
  template <typename R, typename... P, typename Range>
  MapResults<internal::TaskValue<R>> Map(R (*fn)(P...), Range&& inputs, MapOptions options = {}) {
    return MapRanges(fn, options, std::forward<Range>(inputs));
  }
  // Python's map(fn, a, b, ...): fn(a[i], b[i], ...), ending with the shortest range; options,
  // if any, last (as ThreadPoolExecutor::Map).
  template <typename R, typename... P, typename R1, typename R2, typename... More>
    requires internal::kSeveralMapRanges<R1, R2, More...>
  MapResults<internal::TaskValue<R>> Map(R (*fn)(P...), R1&& a, R2&& b, More&&... more) {
    return internal::CallWithMapArgs(
        [&](const MapOptions& options, auto&&... ranges) {
          return MapRanges(fn, options, std::forward<decltype(ranges)>(ranges)...);
        },
        std::forward<R1>(a), std::forward<R2>(b), std::forward<More>(more)...);
  }
  template <typename R, typename... P, typename R1, typename R2>
    requires std::ranges::input_range<R1> && std::ranges::input_range<R2>
  MapResults<internal::TaskValue<R>> Map(R (*fn)(P...), R1&& a, R2&& b, MapOptions options) {
    return MapRanges(fn, options, std::forward<R1>(a), std::forward<R2>(b));
  }

  // Python's shutdown(wait, cancel_futures). Idempotent.
  void Shutdown(bool wait = true, bool cancel_futures = false);
  // Shutdown with a deadline (cf/core/executor_control.h): returns true when every call had
  // finished and every worker had exited by options.timeout. When the timeout runs out,
  // on_timeout says what happens to the calls still running: kReturn leaves them running (the
  // pool finishes them and ends on its own; AwaitTermination waits for that), kTerminate
  // and kKill end their workers as TerminateWorkers()/KillWorkers() do — their futures fail
  // with cf::BrokenProcessPool — and return once the workers are gone (kTerminate: within
  // kill_grace). request_stop is ignored (a process has no stop token). With wait=false, or
  // from a done-callback (the manager's thread), it does not wait and returns whether every
  // call had already ended (the workers may still be on their way out).
  // The destructor after a Shutdown whose deadline passed with kReturn still waits for the
  // running calls (Shutdown(true)'s meaning): if one may never return, end with kKill or call
  // KillWorkers() before the pool is destroyed.
  bool Shutdown(const ShutdownOptions& options);
  // After Shutdown(): blocks until every call has finished and every worker has exited, or
  // `timeout` passes; returns whether they have. Before Shutdown() the pool cannot end: it
  // waits out the timeout and returns false. From a done-callback (the manager's thread) it
  // does not wait.
  bool AwaitTermination(Timeout timeout) const;
  // A snapshot of the pool's workers and counters (cf/core/executor_control.h). Never waits
  // for a running call: callable from done-callbacks and from any thread.
  ExecutorStats stats() const;
  // Python 3.14's terminate_workers() / kill_workers().
  void TerminateWorkers();
  void KillWorkers();
  // The pids of the workers alive now.
  std::vector<pid_t> worker_pids() const;
  int max_workers() const;
  // The start method in use (kAuto resolved).
  StartMethod start_method() const;

 private:
  friend class internal::ProcessPoolExecutorPeer;  // tests
  // Map over one range or several zipped (cf/core/internal/map.h); a zipped item is a tuple,
  // spread into fn's arguments.
  template <typename R, typename... P, typename... Ranges>
  MapResults<internal::TaskValue<R>> MapRanges(R (*fn)(P...), const MapOptions& options,
                                               Ranges&&... inputs) {
    using V = internal::TaskValue<R>;
    using Fn = R (*)(P...);
    using Item = internal::MapItemOf<Ranges...>;
    ValidateMapOptions(options);
    const absl::Duration chunk_timeout =
        options.chunk_timeout.duration() == absl::InfiniteDuration()
            ? absl::InfiniteDuration()
            : CheckedTimeout(options.chunk_timeout, "MapOptions::chunk_timeout");
    TaskBatch<Fn> probe(fn);  // std::invalid_argument now if fn is not registered
    (void)probe;
    std::weak_ptr<internal::PoolCore> weak = core_;
    return internal::MakeMapResults<V>(
        options,
        [weak, fn, chunk_timeout](internal::MapItems<Item>&& items)
            -> std::optional<Future<internal::MapChunk<V>>> {
          std::shared_ptr<internal::PoolCore> core = weak.lock();
          if (core == nullptr) return std::nullopt;
          TaskBatch<Fn> batch(fn);
          for (Item& item : items) internal::AddMapItem<Fn>(batch, std::move(item));
          auto task = std::make_unique<internal::BatchTask<V>>(std::move(batch).Finish());
          task->set_timeout(chunk_timeout);
          Future<internal::MapChunk<V>> future = task->GetFuture();
          core->Submit(std::move(task));
          return future;
        },
        std::forward<Ranges>(inputs)...);
  }
  static internal::PoolConfig MakeConfig(Options options);
  // `timeout` if it is > 0; std::invalid_argument naming `what` otherwise.
  static absl::Duration CheckedTimeout(Timeout timeout, const char* what);
  std::shared_ptr<internal::PoolCore> core_;
  StartMethod start_method_;
};

// Call first in main(). In a program started as a worker or fork server (kSpawn, kForkServer,
// kAuto) it runs that role and never returns; otherwise it returns at once (about 0.15 ms on
// the 2-core development VM; more when every core is busy) and makes kAuto mean kForkServer.
//
// In that ordinary case, called on the main thread, it also starts a spare fork server in the
// background without waiting for it: a copy of this program that gets ready while main() goes
// on. The first kForkServer (or kAuto) pool whose worker_binary is the default takes it, so its
// first result does not wait for a whole program to start; later pools start their own server,
// as every pool does without the spare. The spare is tied to the main thread (PR_SET_PDEATHSIG)
// and is killed and reaped at exit(); a child of the program's own fork() neither uses it nor
// keeps it alive; a pool does not take it if the environment, working directory, standard
// descriptors, ids, resource limits or CPU affinity changed since InitProcessPool (it starts
// its own instead); a spare that died is replaced by a fresh server. A program that never
// makes a kForkServer pool pays for nothing it uses: the CPU time of the spare's start (about
// 1 ms on the 2-core development VM, at the same time as the program's own start, so on busy
// cores e.g. a kFork pool's first result can come about 1 ms later) and one idle process (a
// program that waits for any child, wait() or waitpid(-1, ...), sees it among its children).
// To turn it off, set the environment variable CF_PROCESS_POOL_PRESTART=0 before the program
// starts (or before InitProcessPool). Details: process_pool/internal/spare_fork_server.h.
void InitProcessPool(int argc, char** argv);

}  // namespace cf

#endif  // CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_
