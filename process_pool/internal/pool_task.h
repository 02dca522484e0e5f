// cf/process_pool/internal/pool_task.h — one submitted call as the pool's manager sees it, and
// the two kinds of it: a Submit() (CallTask) and one chunk of a Map() (BatchTask).
//
// Not part of the public API.
//
// A PoolTask owns its encoded call (a TaskCall) and its future's shared state (a PoolState). A
// call reaches a worker one of two ways:
//   * through the worker's ring (shared_region.h): AttachClaim(region, seq) first; the future
//     stays pending until the worker claims the call in shared memory, and from that moment
//     Running() says so and Cancel() answers false; Cancel() before it revokes the claim, and
//     the worker skips the call. DetachClaim() takes a call back from a ring (plain pending
//     again), e.g. to hand it to another worker.
//   * through the worker's pipe (payloads too big for the ring): Start() first, as
//     SetRunningOrNotifyCancel() (false: it was cancelled while queued; drop it).
// Then exactly one of Succeed(payload) (the worker's kResult, decoded here into the future's
// type) or Fail(error). Everything runs on the manager thread, except Cancel(), which
// Shutdown(cancel_futures) may call from any thread, and the state's claim check, which
// Future::Cancel/Running/state call from any thread.
#ifndef CF_PROCESS_POOL_INTERNAL_POOL_TASK_H_
#define CF_PROCESS_POOL_INTERNAL_POOL_TASK_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/process_pool/internal/shared_region.h"
#include "cf/serialization/task.h"

namespace cf::internal {

// The result type a task's future holds: R decayed (void stays void).
template <typename R>
using TaskValue = std::conditional_t<std::is_void_v<R>, void, std::decay_t<R>>;

// A call's claim word in a worker's ring, as its future's state sees it.
class RingClaim {
 public:
  // Manager thread, while detached, with the state's mutex held: the call now waits in
  // `region`'s ring as `seq`. The region stays mapped while the state may read the cell, that
  // is while it is pending and attached: the worker's channel holds the region until it has
  // detached every call it took (TakeCalls, TakeBackUnclaimed, a kSkipped, TakeExpired), and a
  // result's delivery holds it until the future has its value.
  void Attach(SharedRegion& region, std::uint64_t seq) {
    seq_ = seq;
    cell_.store(&region.claim(seq), std::memory_order_release);
  }
  // Manager thread, with the state's mutex held (so that no check is using the cell).
  void Detach() { cell_.store(nullptr, std::memory_order_relaxed); }
  // With the state's mutex held: whether a worker claimed the call; with revoke, a call not
  // claimed yet is revoked (the worker will skip it). The word says:
  //   ClaimWord(seq, queued)   waiting: not started (revoke: now revoked, the worker skips it)
  //   ClaimWord(seq, claimed)  a worker started it
  //   ClaimWord(seq, revoked)  the manager is taking it back (TakeBackUnclaimed, TakeCalls) and
  //                            has not detached it yet: not started anywhere, so Cancel() wins
  //                            and the manager drops it when it tries to hand it on (Attach
  //                            sees the future done)
  //   another seq              the slot was reused: the worker consumed this call long ago,
  //                            and a call consumed while attached was claimed (a skipped one is
  //                            detached before its slot can be reused)
  bool StartedElsewhere(bool revoke) {
    std::atomic<std::uint64_t>* cell = cell_.load(std::memory_order_acquire);
    if (cell == nullptr) return false;
    std::uint64_t word = ClaimWord(seq_, kClaimQueued);
    if (revoke) {
      if (cell->compare_exchange_strong(word, ClaimWord(seq_, kClaimRevoked),
                                        std::memory_order_acq_rel)) {
        return false;
      }
    } else {
      word = cell->load(std::memory_order_acquire);
    }
    return word != ClaimWord(seq_, kClaimQueued) && word != ClaimWord(seq_, kClaimRevoked);
  }

 private:
  std::uint64_t seq_ = 0;
  std::atomic<std::atomic<std::uint64_t>*> cell_{nullptr};
};

// A pool's outcome counters (ExecutorStats), shared with the futures of the calls it accepted:
// a future may be cancelled, or outlive the pool.
struct PoolCounters {
  std::atomic<std::int64_t> submitted{0};
  std::atomic<std::int64_t> completed{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> cancelled{0};
  std::atomic<std::int64_t> worker_restarts{0};
  std::atomic<std::int64_t> task_timeouts{0};

  // Every call accepted has ended (completed, failed or cancelled).
  bool AllEnded() const {
    const std::int64_t ended = completed.load(std::memory_order_acquire) +
                               failed.load(std::memory_order_acquire) +
                               cancelled.load(std::memory_order_acquire);
    return ended == submitted.load(std::memory_order_acquire);
  }
  // The outcome counters into *s (a stats() snapshot reads them before its workers, and
  // `submitted` after: see PoolCore::stats).
  void CopyOutcomesTo(ExecutorStats* s) const {
    s->completed = completed.load(std::memory_order_acquire);
    s->failed = failed.load(std::memory_order_acquire);
    s->cancelled = cancelled.load(std::memory_order_acquire);
    s->worker_restarts = worker_restarts.load(std::memory_order_relaxed);
    s->task_timeouts = task_timeouts.load(std::memory_order_relaxed);
  }
};

// The shared state of a process-pool call's future: a SharedState<R> whose work may start in a
// worker before the pool knows it (see StateBase::StartedElsewhere), and whose outcome the
// pool counts once it accepted the call.
template <typename R>
class PoolState final : public SharedState<R> {
 public:
  PoolState() { this->may_start_elsewhere_ = true; }
  RingClaim& claim() { return claim_; }
  absl::Mutex& mutex() { return this->mu_; }
  // Before the call is queued (no other thread sees the state yet).
  void CountIn(std::shared_ptr<PoolCounters> counters) { counters_ = std::move(counters); }

 private:
  bool StartedElsewhere(bool revoke) override { return claim_.StartedElsewhere(revoke); }
  void NoteOutcome(bool cancelled) override {
    if (counters_ == nullptr) return;  // refused by Submit: never counted as submitted
    std::atomic<std::int64_t>& counter = cancelled                  ? counters_->cancelled
                                         : this->error_ != nullptr ? counters_->failed
                                                                   : counters_->completed;
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  RingClaim claim_;
  std::shared_ptr<PoolCounters> counters_;
};

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
  // See the file comment. False: the future is done already (cancelled); drop the call.
  // DetachClaim: a claimed call turns running (Running() keeps saying so).
  virtual bool AttachClaim(SharedRegion& region, std::uint64_t seq) = 0;
  virtual void DetachClaim() = 0;
  // Done (cancelled, or failed by the pool) already.
  virtual bool done() const = 0;
  virtual AnyFuture future() const = 0;
  // Submit, as it accepts the call: its outcome counts in `counters`.
  virtual void CountIn(std::shared_ptr<PoolCounters> counters) = 0;

  const TaskCall& call() const { return call_; }
  // How long the call may run once a worker claimed it (TaskOptions::timeout,
  // MapOptions::chunk_timeout); InfiniteDuration: as long as it takes.
  absl::Duration timeout() const { return timeout_; }
  void set_timeout(absl::Duration timeout) { timeout_ = timeout; }
  // How many workers died while running it (WorkerDeath::kRetryTask). Manager thread.
  int deaths() const { return deaths_; }
  void add_death() { ++deaths_; }

 private:
  TaskCall call_;
  absl::Duration timeout_ = absl::InfiniteDuration();
  int deaths_ = 0;
};

// What CallTask and BatchTask share: the state, its reference, and the claim.
template <typename R>
class PoolTaskWith : public PoolTask {
 public:
  explicit PoolTaskWith(TaskCall call) : PoolTask(std::move(call)), state_(new PoolState<R>()) {}
  // A task dropped unfinished (it cannot be, short of a bug) leaves no future hanging.
  ~PoolTaskWith() override {
    if (!state_->done()) state_->TrySetError(std::make_exception_ptr(BrokenPromise()));
    state_->Unref();
  }
  Future<R> GetFuture() const { return FutureAccess::FromTypedState<R>(state_); }
  bool Start() override { return state_->SetRunningOrNotifyCancel(); }
  bool Cancel() override { return state_->Cancel(); }
  void Fail(std::exception_ptr error) override { state_->TrySetError(std::move(error)); }
  bool AttachClaim(SharedRegion& region, std::uint64_t seq) override {
    // Under the state's mutex, so that a Cancel() either came first (and we see it) or sees
    // the claim (and revokes it).
    absl::MutexLock lock(&state_->mutex());
    if (state_->done()) return false;
    state_->claim().Attach(region, seq);
    return true;
  }
  void DetachClaim() override {
    // A call the worker claimed turns running first, so that it still says so once detached
    // (its claim word is final by now: the manager revoked or saw it claimed).
    (void)state_->running();
    absl::MutexLock lock(&state_->mutex());
    state_->claim().Detach();
  }
  bool done() const override { return state_->done(); }
  AnyFuture future() const override { return AnyFuture(GetFuture()); }
  void CountIn(std::shared_ptr<PoolCounters> counters) override {
    state_->CountIn(std::move(counters));
  }

 protected:
  PoolState<R>* state_;
};

// The exception for a result that does not decode in the parent (failure_policy.cc).
std::exception_ptr UndecodableResultError(const std::string& task, absl::string_view why);

// A Submit(): one call whose result completes one future.
template <typename V>
class CallTask final : public PoolTaskWith<V> {
 public:
  explicit CallTask(TaskCall call) : PoolTaskWith<V>(std::move(call)) {}
  void Succeed(absl::Span<const char> payload) override {
    absl::StatusOr<ResultValue<V>> value = DecodeResult<V>(payload);
    if (!value.ok()) {
      this->state_->TrySetError(
          UndecodableResultError(this->call().task_name(), value.status().message()));
    } else if constexpr (std::is_void_v<V>) {
      this->state_->TrySetValue();
    } else {
      this->state_->TrySetValue(*std::move(value));
    }
  }
};

// One chunk of a Map(): a batch of calls whose results complete one future.
template <typename V>
class BatchTask final : public PoolTaskWith<MapChunk<V>> {
 public:
  explicit BatchTask(TaskCall call) : PoolTaskWith<MapChunk<V>>(std::move(call)) {}
  void Succeed(absl::Span<const char> payload) override {
    absl::StatusOr<std::vector<ResultValue<V>>> values =
        DecodeResults<V>(payload, this->call().call_count());
    if (!values.ok()) {
      this->state_->TrySetError(
          UndecodableResultError(this->call().task_name(), values.status().message()));
      return;
    }
    if constexpr (std::is_void_v<V>) {
      this->state_->TrySetValue();
    } else {
      MapChunk<V> chunk;
      chunk.reserve(values->size());
      for (V& v : *values) chunk.emplace_back(std::move(v));
      this->state_->TrySetValue(std::move(chunk));
    }
  }
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
