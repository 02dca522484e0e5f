#include "cf/core/wait.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/internal/shared_state.h"

namespace cf::internal {
namespace {

// The waiter behind Wait(): counts completions and fires once `return_when` is satisfied.
class ConditionWaiter final : public Waiter {
 public:
  ConditionWaiter(ReturnWhen return_when, size_t pending)
      : return_when_(return_when), pending_(pending) {}

  // Called under the completing future's mutex.
  void OnDone(StateBase* state, uint32_t /*index*/) override {
    absl::MutexLock lock(&mu_);
    Account(state);
  }

  void Account(StateBase* state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    --pending_;
    switch (return_when_) {
      case ReturnWhen::kFirstCompleted:
        fired_ = true;
        break;
      case ReturnWhen::kFirstException:
        if (pending_ == 0 || state->has_error()) fired_ = true;
        break;
      case ReturnWhen::kAllCompleted:
        if (pending_ == 0) fired_ = true;
        break;
    }
  }

  void AccountNow(StateBase* state) {
    absl::MutexLock lock(&mu_);
    Account(state);
  }

  void WaitUntilFired(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    const absl::Condition fired(&fired_);
    if (timeout == absl::InfiniteDuration()) {
      mu_.Await(fired);
    } else {
      mu_.AwaitWithTimeout(fired, timeout);
    }
  }

 private:
  absl::Mutex mu_;
  const ReturnWhen return_when_;
  size_t pending_ ABSL_GUARDED_BY(mu_);
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::vector<char> WaitForStates(const std::vector<StateBase*>& states, absl::Duration timeout,
                                ReturnWhen return_when) {
  if (return_when != ReturnWhen::kFirstCompleted && return_when != ReturnWhen::kFirstException &&
      return_when != ReturnWhen::kAllCompleted) {
    throw std::invalid_argument(absl::StrFormat("Invalid return condition: %d",
                                                static_cast<int>(return_when)));
  }
  const size_t n = states.size();
  std::vector<char> done(n);
  size_t done_count = 0;
  bool any_error = false;
  for (size_t i = 0; i < n; ++i) {
    done[i] = states[i]->done();
    done_count += done[i];
    any_error = any_error || (done[i] && states[i]->has_error());
  }
  const bool satisfied = done_count == n ||
                         (return_when == ReturnWhen::kFirstCompleted && done_count > 0) ||
                         (return_when == ReturnWhen::kFirstException && any_error);
  if (satisfied || timeout <= absl::ZeroDuration()) return done;

  ConditionWaiter waiter(return_when, n - done_count);
  std::unique_ptr<WaiterNode[]> nodes(new WaiterNode[n]);
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    nodes[i].waiter = &waiter;
    nodes[i].index = static_cast<uint32_t>(i);
    // A future that completed since the scan above is accounted for here instead.
    if (!states[i]->AddWaiter(&nodes[i])) waiter.AccountNow(states[i]);
  }
  waiter.WaitUntilFired(timeout);
  for (size_t i = 0; i < n; ++i) {
    if (!done[i]) states[i]->RemoveWaiter(&nodes[i]);
  }
  for (size_t i = 0; i < n; ++i) done[i] = states[i]->done();
  return done;
}

// Collects the indices of futures as they complete.
class CompletionQueue::Waiter final : public internal::Waiter {
 public:
  // Called under the completing future's mutex.
  void OnDone(StateBase* /*state*/, uint32_t index) override {
    absl::MutexLock lock(&mu_);
    ready_.push_back(index);
  }

  // Swaps the ready indices into `out` (which must be empty), blocking until there is at least
  // one or the deadline passes. Returns false on timeout.
  bool Take(std::vector<uint32_t>& out, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto has_ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ready_.empty(); };
    if (deadline == absl::InfiniteFuture()) {
      mu_.Await(absl::Condition(&has_ready));
    } else if (!mu_.AwaitWithDeadline(absl::Condition(&has_ready), deadline)) {
      return false;
    }
    out.swap(ready_);
    return true;
  }

 private:
  absl::Mutex mu_;
  std::vector<uint32_t> ready_ ABSL_GUARDED_BY(mu_);
};

CompletionQueue::CompletionQueue(std::vector<StateBase*> states)
    : states_(std::move(states)),
      nodes_(new WaiterNode[states_.size()]),
      waiter_(std::make_unique<Waiter>()) {
  for (size_t i = 0; i < states_.size(); ++i) {
    nodes_[i].waiter = waiter_.get();
    nodes_[i].index = static_cast<uint32_t>(i);
    if (!states_[i]->AddWaiter(&nodes_[i])) batch_.push_back(static_cast<uint32_t>(i));
  }
}

CompletionQueue::~CompletionQueue() {
  // Taking each future's mutex also waits out any OnDone still running for this waiter.
  for (size_t i = 0; i < states_.size(); ++i) states_[i]->RemoveWaiter(&nodes_[i]);
}

int64_t CompletionQueue::Next(absl::Time deadline) {
  if (pos_ == batch_.size()) {
    if (handed_out_ == states_.size()) return -1;
    batch_.clear();
    pos_ = 0;
    // The check is "deadline already passed" before blocking, as in CPython (< 0, not <= 0).
    if (!waiter_->Take(batch_, deadline)) {
      const size_t pending = states_.size() - handed_out_;
      throw TimeoutError(
          absl::StrFormat("%d (of %d) futures unfinished", pending, states_.size()));
    }
  }
  ++handed_out_;
  return batch_[pos_++];
}

}  // namespace cf::internal
