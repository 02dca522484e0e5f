// cf/mpi/mpi_pool_executor.h — cf::MpiPoolExecutor and cf::InitMpiPool: ProcessPoolExecutor's
// interface over Open MPI ranks, as mpi4py.futures' MPIPoolExecutor is Python's.
//
// Data flow (rank 0 is the program's main(); "workers" are other MPI processes):
//
//   caller threads           rank 0's manager thread (one per executor)        worker ranks
//   ──────────────           ──────────────────────────────────────────        ────────────
//   Submit(&fn, args) ─┐
//   Map(&fn, xs, o)  ──┼─► pending queue ──► mark running, encode the ──MPI_Isend──► RunTaskCall
//    (one TaskCall per │    (absl::Mutex;     TaskCall as a cf frame      kCallTag    (the process
//     call or chunk)   │    Cancel() works    (wire.h), least-loaded                  pool's worker
//                      │    here)             rank, ≤ calls_per_worker                side), one at
//   Future<R> ◄────────┘                      in flight per rank                      a time
//     ▲                                                                                  │
//     └── Succeed/Fail, outside every lock ◄── MPI_Iprobe + MPI_Recv ◄──MPI_Send─────────┘
//         (done-callbacks run here)            (kResult / kException)    kReplyTag
//
// Calls travel as the process pool's frames: a CF_TASK name and cereal-encoded arguments
// (cf/serialization/task.h); results and exceptions come back the same way, and exceptions are
// rethrown as themselves (std::, cf::, CF_EXCEPTION types) or as cf::RemoteError. MPI starts
// the processes, places them on hosts and moves the bytes; cf adds no runtime of its own.
//
//   // tasks.cc
//   int Square(int x) { return x * x; }
//   CF_TASK(Square);
//
//   int main(int argc, char** argv) {
//     cf::InitMpiPool(&argc, &argv);      // first: on worker ranks it serves calls and exits
//     cf::MpiPoolExecutor pool;           // mpiexec -n 3: ranks 1 and 2 are its workers
//     cf::Future<int> f = pool.Submit(&Square, 7);                 // f.Result() == 49
//     for (int sq : pool.Map(&Square, std::vector<int>{1, 2, 3}, {.chunksize = 100})) ...
//   }
//
// Where the workers come from (Options::workers):
//   kAuto   kWorld when the job has more than one rank, else kSpawn.
//   kWorld  SPMD, `mpiexec -n N ./prog`: ranks 1..N-1 (the first max_workers of them). They
//           serve one executor at a time — a second one's constructor waits until the first
//           has ended — and leave cleanly (MPI_Finalize, exit 0) when rank 0's main() returns
//           or calls exit(). In a job of one rank there is no other rank: calls then run on
//           rank 0 itself, on the manager thread, one at a time, through the same encoding
//           (so behaviour, exceptions included, is the same; only the parallelism is gone).
//   kSpawn  the dynamic route: the constructor MPI_Comm_spawn's max_workers processes of this
//           program (or Options::worker_binary, whose main() must call cf::InitMpiPool) and
//           waits for their hello (BrokenProcessPool if spawning fails, e.g. as root without
//           OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment;
//           the message says so). Shutdown tells them to exit and disconnects.
//
// State machine of a future: pending while queued on rank 0 (Cancel() works and the call is never
// sent), running once sent to a rank (Cancel() then returns false), then finished with the
// result or exception — or cancelled. Shutdown(wait, cancel_futures) as ProcessPoolExecutor's:
// wait=true returns once every queued (unless cancelled) and running call has finished and
// the executor's workers are released (kWorld: free for the next executor; kSpawn: told to
// exit and disconnected — they finalise and exit right after). Submit after it throws
// cf::ShutdownError. The destructor is Shutdown(true).
//
// A worker rank that dies — which we chose, and why:
//   kWorld: Open MPI 4.1 (no ULFM fault tolerance) aborts the whole job when a rank dies:
//           mpirun kills every rank, rank 0 included, and prints "mpirun noticed that process
//           rank R with PID P on node H exited on signal S". No future can stay pending
//           because no process is left waiting. Failing only the futures would need MPI to
//           report the death, which Open MPI 4.1 does not do.
//   kSpawn: Open MPI aborts the spawned job (all its workers) but the parent lives on and is
//           told nothing — and an MPI call that then makes progress towards the dead workers
//           may spin inside Open MPI and never return (seen with 4.1.4's TCP transport). So a
//           watchdog thread, which makes no MPI call, checks every 50 ms that each worker's pid
//           still exists (workers report pid and host in their hello): when one is gone it
//           breaks the executor — every pending and running future fails with
//           cf::BrokenProcessPool ("A process in the process pool was terminated abruptly ..."
//           naming the rank, pid and host) and Submit throws it, as ProcessPoolExecutor does.
//           Shutdown then waits for a manager stuck in Open MPI at most 2 s and leaves it
//           behind (saying so on stderr), and the exit handler skips MPI_Finalize. Spawned
//           workers on other hosts (Options::hostfile) cannot be checked this way: there, a
//           worker's death leaves its calls pending (use the kWorld route across hosts).
//
// Limits: tasks are CF_TASK free functions; cf::SharedBuffer arguments are refused at Submit
// (std::invalid_argument: shared memory does not cross hosts) and results holding one fail
// their future; one call's encoded arguments or result must fit one MPI message (< 2 GiB) and
// Options::max_payload_size. No max_tasks_per_child or per-task timeout (yet).
// Shutdown(ShutdownOptions), AwaitTermination and stats() as ProcessPoolExecutor's (below).
//
// Threads and happens-before: every method may be called from any thread. Open MPI is
// initialised MPI_THREAD_SERIALIZED by cf::InitMpiPool; every MPI call of rank 0 is made under
// one process-wide lock (the executors' manager threads, spawning, the exit handler), so a
// program may run several executors, but must not make MPI calls of its own concurrently with
// them (take no MPI calls outside main()'s thread while an executor lives). Submit
// happens-before the call runs on its rank; everything the call did happens-before its future
// completes on rank 0. Done-callbacks run on the executor's manager thread (on the watchdog's
// when it breaks the executor).
#ifndef CF_MPI_MPI_POOL_EXECUTOR_H_
#define CF_MPI_MPI_POOL_EXECUTOR_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/timeout.h"
#include "cf/core/future.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/serialization/task.h"

namespace cf {

namespace internal {
class MpiCore;
}  // namespace internal

enum class MpiWorkers { kAuto, kWorld, kSpawn };

class MpiPoolExecutor {
 public:
  struct Options {
    // kWorld: 0 = every other rank (N-1); more than there are: std::invalid_argument.
    // kSpawn: 0 = this host's CPUs; the number of processes spawned.
    int max_workers = 0;
    MpiWorkers workers = MpiWorkers::kAuto;
    // Calls sent to one rank before its earlier ones came back: a busy rank finds its next
    // call waiting. 1 = one at a time (fairest for long calls).
    int calls_per_worker = 32;
    // kSpawn: the program to spawn (default: this one); its main() calls cf::InitMpiPool.
    std::string worker_binary{};
    std::vector<std::string> worker_args{};
    // kSpawn: an Open MPI hostfile to place the workers with (MPI_Info "hostfile").
    std::string hostfile{};
    // The largest encoded arguments (one Submit or Map chunk) a call may have; 0: 1 GiB.
    std::uint64_t max_payload_size = 0;
    // Runs on every worker rank before its first call of this executor (Python's and
    // mpi4py's initializer): cf::TaskCall(&fn, args...). The constructor waits until it has
    // run on every rank. If it throws on any, the executor is broken: Submit throws
    // BrokenProcessPool naming the rank and the exception (the ranks stay usable for the next
    // executor). A job of one rank runs it on rank 0.
    TaskCall initializer{};
  };

  // Throws std::logic_error if cf::InitMpiPool has not run, std::invalid_argument for bad
  // options, BrokenProcessPool if workers cannot be spawned. kWorld: blocks while another
  // executor holds the world's ranks.
  MpiPoolExecutor();
  explicit MpiPoolExecutor(int max_workers);
  explicit MpiPoolExecutor(Options options);
  MpiPoolExecutor(const MpiPoolExecutor&) = delete;
  MpiPoolExecutor& operator=(const MpiPoolExecutor&) = delete;
  ~MpiPoolExecutor();  // Shutdown(true)

  // Schedules fn(args...) on a worker rank; as ProcessPoolExecutor::Submit (std::invalid_argument
  // naming CF_TASK for an unregistered fn; ShutdownError; BrokenProcessPool once broken).
  template <typename R, typename... P, typename... A>
  Future<internal::TaskValue<R>> Submit(R (*fn)(P...), A&&... args) {
    using V = internal::TaskValue<R>;
    auto task = std::make_unique<internal::CallTask<V>>(TaskCall(fn, std::forward<A>(args)...));
    Future<V> future = task->GetFuture();
    SubmitTask(std::move(task));
    return future;
  }
  template <typename F, typename... A>
    requires std::is_class_v<std::remove_cvref_t<F>>
  void Submit(F&&, A&&...) {
    static_assert(!std::is_class_v<std::remove_cvref_t<F>>,
                  "cf::MpiPoolExecutor runs free functions registered with CF_TASK; lambdas "
                  "and function objects cannot be sent to another process");
  }

  // Python's map(): results in input order, one MPI message per chunk of options.chunksize
  // inputs; timeout and buffersize as cf/core/executor.h describes. MapOptions::chunk_timeout
  // is not supported (std::invalid_argument): a call on another rank cannot be stopped.
  template <typename R, typename... P, typename Range>
  MapResults<internal::TaskValue<R>> Map(R (*fn)(P...), Range&& inputs, MapOptions options = {}) {
    return MapRanges(fn, options, std::forward<Range>(inputs));
  }
  // Python's map(fn, a, b, ...): fn(a[i], b[i], ...), ending with the shortest range; options,
  // if any, last (as ProcessPoolExecutor::Map).
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
  // As ProcessPoolExecutor's (cf/core/executor_control.h): true when every call had finished,
  // and with wait the workers were released, by the deadline. At the deadline kReturn returns
  // false and leaves the calls running; kTerminate (SIGKILL 1 s after SIGTERM) and kKill end
  // kSpawn workers on this host — the executor then breaks, their futures fail with
  // BrokenProcessPool — while world ranks, and spawned workers on other hosts, cannot be ended
  // without ending the job: there they act as kReturn. request_stop is ignored.
  bool Shutdown(const ShutdownOptions& options);
  // The wait of a Shutdown that did not wait: true once shut down and every call finished and
  // the workers were released (or the executor broke), within `timeout`.
  bool AwaitTermination(Timeout timeout) const;
  // A snapshot: workers are the ranks serving this executor (busy: with calls sent to it);
  // queued: calls not sent yet; worker_restarts and task_timeouts stay 0 (no rank is replaced,
  // no call is timed).
  ExecutorStats stats() const;
  int max_workers() const;
  // The route in use (kAuto resolved; a job of one rank under kWorld reports kWorld).
  MpiWorkers workers() const;
  // kSpawn: the workers' pids (on their hosts); kWorld: empty.
  std::vector<pid_t> worker_pids() const;

 private:
  template <typename R, typename... P, typename... Ranges>
  MapResults<internal::TaskValue<R>> MapRanges(R (*fn)(P...), const MapOptions& options,
                                               Ranges&&... inputs) {
    using V = internal::TaskValue<R>;
    using Fn = R (*)(P...);
    using Item = internal::MapItemOf<Ranges...>;
    ValidateMapOptions(options);
    RejectChunkTimeout(options);
    TaskBatch<Fn> probe(fn);  // std::invalid_argument now if fn is not registered
    (void)probe;
    std::weak_ptr<internal::MpiCore> weak = core_;
    return internal::MakeMapResults<V>(
        options,
        [weak, fn](internal::MapItems<Item>&& items)
            -> std::optional<Future<internal::MapChunk<V>>> {
          std::shared_ptr<internal::MpiCore> core = weak.lock();
          if (core == nullptr) return std::nullopt;
          TaskBatch<Fn> batch(fn);
          for (Item& item : items) internal::AddMapItem<Fn>(batch, std::move(item));
          auto task = std::make_unique<internal::BatchTask<V>>(std::move(batch).Finish());
          Future<internal::MapChunk<V>> future = task->GetFuture();
          SubmitTo(*core, std::move(task));
          return future;
        },
        std::forward<Ranges>(inputs)...);
  }
  // std::invalid_argument: MapOptions::chunk_timeout needs a worker that can be killed.
  static void RejectChunkTimeout(const MapOptions& options);
  void SubmitTask(std::unique_ptr<internal::PoolTask> task);
  static void SubmitTo(internal::MpiCore& core, std::unique_ptr<internal::PoolTask> task);
  std::shared_ptr<internal::MpiCore> core_;
  MpiWorkers workers_ = MpiWorkers::kWorld;
};

// Call first in main(), before anything else reads argc/argv: initialises MPI
// (MPI_Init_thread, MPI_THREAD_SERIALIZED). On a worker rank — ranks 1..N-1 of an mpiexec job,
// or a process an executor spawned — it serves calls and then exits the process (status 0)
// without returning. On rank 0 it returns, and registers an exit handler that releases the
// worker ranks and calls MPI_Finalize. Idempotent. A program that initialised MPI itself may
// call it afterwards if it asked for MPI_THREAD_SERIALIZED or more.
void InitMpiPool(int* argc, char*** argv);

}  // namespace cf

#endif  // CF_MPI_MPI_POOL_EXECUTOR_H_
