#include "tests/executor_behaviour/in_process_gate.h"

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"

namespace cf::testing {
namespace {

struct GateState {
  absl::Notification open;
  std::atomic<bool> opened{false};
  absl::Mutex mu;
  int arrivals ABSL_GUARDED_BY(mu) = 0;
};

struct Registry {
  absl::Mutex mu;
  int64_t next_id ABSL_GUARDED_BY(mu) = 1;
  absl::flat_hash_map<int64_t, std::shared_ptr<GateState>> gates ABSL_GUARDED_BY(mu);
};

Registry& Gates() {
  static Registry* const registry = new Registry();
  return *registry;
}

std::shared_ptr<GateState> Find(int64_t id) {
  Registry& r = Gates();
  absl::MutexLock lock(&r.mu);
  auto it = r.gates.find(id);
  return it == r.gates.end() ? nullptr : it->second;
}

int64_t Register() {
  Registry& r = Gates();
  absl::MutexLock lock(&r.mu);
  const int64_t id = r.next_id++;
  r.gates[id] = std::make_shared<GateState>();
  return id;
}

}  // namespace

InProcessGate::InProcessGate() : id_(Register()) {}

InProcessGate::~InProcessGate() {
  Open();
  Registry& r = Gates();
  absl::MutexLock lock(&r.mu);
  r.gates.erase(id_);
}

void InProcessGate::Open() {
  std::shared_ptr<GateState> gate = Find(id_);
  if (gate != nullptr && !gate->opened.exchange(true)) gate->open.Notify();
}

int InProcessGate::arrivals() const {
  std::shared_ptr<GateState> gate = Find(id_);
  if (gate == nullptr) return 0;
  absl::MutexLock lock(&gate->mu);
  return gate->arrivals;
}

bool InProcessGate::AwaitArrivals(int n, absl::Duration timeout) const {
  std::shared_ptr<GateState> gate = Find(id_);
  if (gate == nullptr) return false;
  absl::MutexLock lock(&gate->mu);
  GateState* g = gate.get();
  auto reached = [g, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu) { return g->arrivals >= n; };
  return gate->mu.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

int InProcessGate::Pass(int64_t id, int value) {
  std::shared_ptr<GateState> gate = Find(id);
  if (gate == nullptr) return value;
  {
    absl::MutexLock lock(&gate->mu);
    ++gate->arrivals;
  }
  if (!gate->open.WaitForNotificationWithTimeout(absl::Seconds(30))) {
    throw TimeoutError(absl::StrCat("test gate ", id, " was never opened"));
  }
  return value;
}

}  // namespace cf::testing
