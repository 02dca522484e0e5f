// cf/process_pool/process_pool_executor.h — cf::ProcessPoolExecutor and cf::InitProcessPool:
// Python's concurrent.futures.ProcessPoolExecutor.
//
// Tasks run in worker processes. A task is a free function registered with CF_TASK (see
// cf/serialization/task.h); its arguments travel to a worker and its result (or exception) back
// as cereal-encoded frames over pipes.
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
// Lifecycle (as in Python 3.14):
//   * Workers start on demand, at most max_workers (default: CPUs in this process's affinity
//     mask), and an idle worker is reused before a new one is started. StartMethod says how
//     (start_method.h); with max_tasks_per_child N a worker is replaced after N tasks, with every
//     start method.
//   * A future is pending while queued (Cancel() works), running once handed to a worker
//     (SEMANTICS deviation 2), then finished with the result or the task's exception: std:: and
//     cf:: exception types and CF_EXCEPTION types come back as themselves, others as
//     cf::RemoteError naming the type.
//   * A worker that dies (a signal, exit(), abort()) while work is pending breaks the pool: every
//     pending and running future fails with its own cf::BrokenProcessPool ("A process in the
//     process pool was terminated abruptly while the future was running or pending." plus the
//     worker's pid and signal or exit code), and Submit throws BrokenProcessPool from then on.
//     A failing initializer breaks the pool the same way.
//   * Shutdown(wait, cancel_futures) as ThreadPoolExecutor's; the destructor is Shutdown(true).
//     TerminateWorkers()/KillWorkers() (Python 3.14) cancel what is queued and SIGTERM/SIGKILL
//     every worker; running futures then fail with BrokenProcessPool.
//   * Nothing is left behind after Shutdown, the destructor or a broken pool: no child process,
//     no descriptor, no thread.
//
// Thread safety: every method may be called from any thread, concurrently, including from
// done-callbacks (which run on the pool's manager thread; Shutdown(true) there does not wait).
// Everything the task did in the worker happens-before its future completes in this process.
#ifndef CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_
#define CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_

#include <sys/types.h>

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
#include "absl/types/span.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/start_method.h"
#include "cf/serialization/task.h"

namespace cf {

namespace internal {

class ProcessPoolExecutorPeer;

// The result type a task's future holds: R decayed (void stays void).
template <typename R>
using TaskValue = std::conditional_t<std::is_void_v<R>, void, std::decay_t<R>>;

[[noreturn]] void ThrowUndecodableResult(const std::string& task, absl::string_view why);

// A Submit(): one call whose result completes one Promise<V>.
template <typename V>
class CallTask final : public PoolTask {
 public:
  explicit CallTask(TaskCall call) : PoolTask(std::move(call)) {}
  Future<V> GetFuture() const { return promise_.GetFuture(); }
  bool Start() override { return promise_.SetRunningOrNotifyCancel(); }
  bool Cancel() override { return promise_.GetFuture().Cancel(); }
  void Succeed(absl::Span<const char> payload) override {
    absl::StatusOr<ResultValue<V>> value = DecodeResult<V>(payload);
    if (!value.ok()) return FailUndecodable(value.status());
    if constexpr (std::is_void_v<V>) {
      promise_.TrySetResult();
    } else {
      promise_.TrySetResult(*std::move(value));
    }
  }
  void Fail(std::exception_ptr error) override { promise_.TrySetException(std::move(error)); }

 private:
  void FailUndecodable(const absl::Status& status) {
    try {
      ThrowUndecodableResult(call().task_name(), status.message());
    } catch (...) {
      promise_.TrySetException(std::current_exception());
    }
  }
  Promise<V> promise_;
};

// One chunk of a Map(): a batch of calls whose results complete one Promise<MapChunk<V>>.
template <typename V>
class BatchTask final : public PoolTask {
 public:
  explicit BatchTask(TaskCall call) : PoolTask(std::move(call)) {}
  Future<MapChunk<V>> GetFuture() const { return promise_.GetFuture(); }
  bool Start() override { return promise_.SetRunningOrNotifyCancel(); }
  bool Cancel() override { return promise_.GetFuture().Cancel(); }
  void Succeed(absl::Span<const char> payload) override {
    absl::StatusOr<std::vector<ResultValue<V>>> values =
        DecodeResults<V>(payload, call().call_count());
    if (!values.ok()) {
      try {
        ThrowUndecodableResult(call().task_name(), values.status().message());
      } catch (...) {
        promise_.TrySetException(std::current_exception());
      }
      return;
    }
    if constexpr (std::is_void_v<V>) {
      promise_.TrySetResult();
    } else {
      MapChunk<V> chunk;
      chunk.reserve(values->size());
      for (V& v : *values) chunk.emplace_back(std::move(v));
      promise_.TrySetResult(std::move(chunk));
    }
  }
  void Fail(std::exception_ptr error) override { promise_.TrySetException(std::move(error)); }

 private:
  Promise<MapChunk<V>> promise_;
};

// Adds one Map input to a batch: a tuple/pair whose elements fn takes is spread into arguments.
template <typename Fn, typename Batch, typename Item>
void AddMapItem(Batch& batch, Item&& item) {
  if constexpr (SpreadsItem<Fn, Item>()) {
    batch.AddTuple(std::forward<Item>(item));
  } else {
    batch.Add(std::forward<Item>(item));
  }
}

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
  // naming CF_TASK otherwise). Arguments are converted to fn's parameter types and encoded now.
  // Throws BrokenProcessPool if the pool is broken, ShutdownError after Shutdown().
  template <typename R, typename... P, typename... A>
  Future<internal::TaskValue<R>> Submit(R (*fn)(P...), A&&... args) {
    using V = internal::TaskValue<R>;
    auto task = std::make_unique<internal::CallTask<V>>(TaskCall(fn, std::forward<A>(args)...));
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
    using V = internal::TaskValue<R>;
    using Fn = R (*)(P...);
    using Item = std::ranges::range_value_t<std::remove_reference_t<Range>>;
    ValidateMapOptions(options);
    TaskBatch<Fn> probe(fn);  // std::invalid_argument now if fn is not registered
    (void)probe;
    std::weak_ptr<internal::PoolCore> weak = core_;
    return internal::MakeMapResults<V>(
        std::forward<Range>(inputs), options,
        [weak, fn](internal::MapItems<Item>&& items)
            -> std::optional<Future<internal::MapChunk<V>>> {
          std::shared_ptr<internal::PoolCore> core = weak.lock();
          if (core == nullptr) return std::nullopt;
          TaskBatch<Fn> batch(fn);
          for (Item& item : items) internal::AddMapItem<Fn>(batch, std::move(item));
          auto task = std::make_unique<internal::BatchTask<V>>(std::move(batch).Finish());
          Future<internal::MapChunk<V>> future = task->GetFuture();
          core->Submit(std::move(task));
          return future;
        });
  }

  // Python's shutdown(wait, cancel_futures). Idempotent.
  void Shutdown(bool wait = true, bool cancel_futures = false);
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
  static internal::PoolConfig MakeConfig(Options options);
  std::shared_ptr<internal::PoolCore> core_;
  StartMethod start_method_;
};

// Call first in main(). In a program started as a worker or fork server (kSpawn, kForkServer,
// kAuto) it runs that role and never returns; otherwise it returns at once and makes kAuto mean
// kForkServer.
void InitProcessPool(int argc, char** argv);

}  // namespace cf

#endif  // CF_PROCESS_POOL_PROCESS_POOL_EXECUTOR_H_
