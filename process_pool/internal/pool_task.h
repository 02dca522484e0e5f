// cf/process_pool/internal/pool_task.h — one submitted call as the pool's manager sees it, and
// the two kinds of it: a Submit() (CallTask) and one chunk of a Map() (BatchTask).
//
// Not part of the public API.
//
// A PoolTask owns its encoded call (a TaskCall) and the promise of its future. The manager calls
// Start() when a worker takes the call (false: it was cancelled while queued; drop it), then
// exactly one of Succeed(payload) (the worker's kResult, decoded here into the future's type)
// or Fail(error). Cancel() is for tasks still queued. All four run on the manager thread, except
// Cancel(), which Shutdown(cancel_futures) may call from any thread.
#ifndef CF_PROCESS_POOL_INTERNAL_POOL_TASK_H_
#define CF_PROCESS_POOL_INTERNAL_POOL_TASK_H_

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/serialization/task.h"

namespace cf::internal {

// The result type a task's future holds: R decayed (void stays void).
template <typename R>
using TaskValue = std::conditional_t<std::is_void_v<R>, void, std::decay_t<R>>;

class PoolTask {
 public:
  explicit PoolTask(TaskCall call) : call_(std::move(call)) {}
  virtual ~PoolTask() = default;

  // SetRunningOrNotifyCancel() on the future: false means it was cancelled (drop the task).
  virtual bool Start() = 0;
  // Cancel() on the future; true if it is now cancelled.
  virtual bool Cancel() = 0;
  // The worker's kResult payload: decode it and complete the future.
  virtual void Succeed(absl::Span<const char> payload) = 0;
  // Complete the future with an exception (the task's own, or BrokenProcessPool).
  virtual void Fail(std::exception_ptr error) = 0;

  const TaskCall& call() const { return call_; }

 private:
  TaskCall call_;
};

// The exception for a result that does not decode in the parent (failure_policy.cc).
std::exception_ptr UndecodableResultError(const std::string& task, absl::string_view why);

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
    if (!value.ok()) {
      promise_.TrySetException(UndecodableResultError(call().task_name(), value.status().message()));
    } else if constexpr (std::is_void_v<V>) {
      promise_.TrySetResult();
    } else {
      promise_.TrySetResult(*std::move(value));
    }
  }
  void Fail(std::exception_ptr error) override { promise_.TrySetException(std::move(error)); }

 private:
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
      promise_.TrySetException(
          UndecodableResultError(call().task_name(), values.status().message()));
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

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_POOL_TASK_H_
