#include "cf/process_pool/internal/worker_channel.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/worker_loop.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int PrepareFd(int fd) {
  SetNonBlocking(fd);
  return fd;
}

}  // namespace

WorkerChannel::WorkerChannel(WorkerProcess proc, std::shared_ptr<SharedRegion> region,
                             const PoolConfig& config, absl::Time now)
    : proc_(std::move(proc)),
      region_(std::move(region)),
      config_(config),
      channel_(PrepareFd(proc_.from_worker.get()), PrepareFd(proc_.to_worker.get()),
               config.max_payload_size),
      config_payload_(EncodeWorkerConfig(config.max_payload_size,
                                         static_cast<bool>(config.initializer))),
      start_deadline_(now + config.start_timeout) {
  EnlargePipeBuffer(proc_.to_worker.get()).IgnoreError();
  // Neither can be over the limit: 9 bytes, and an initializer checked at construction.
  channel_.Queue(FrameKind::kConfigure, 0, config_payload_).IgnoreError();
  if (config_.initializer) {
    channel_.Queue(FrameKind::kInitialize, 0, config_.initializer.payload()).IgnoreError();
  }
}

WorkerChannel::~WorkerChannel() {
  channel_.DropOutput();
  for (const InFlight& call : in_flight_) {
    if (call.lent_slot >= 0) lent_until_exit_.push_back(call.lent_slot);
  }
  if (lent_until_exit_.empty()) return;
  // The pool is done with it (killed, or it exited): a slot it may still write in is free
  // once it is gone, which a SIGKILL makes a matter of moments. One it outlives stays lent.
  if (!exited_ && proc_.pidfd.get() >= 0) {
    pollfd gone = {proc_.pidfd.get(), POLLIN, 0};
    if (poll(&gone, 1, 1000) == 1) exited_ = true;
  }
  if (exited_) {
    for (int slot : lent_until_exit_) CallPayloadAllocator::Get()->EndLend(slot);
  }
}

void WorkerChannel::set_exited() {
  exited_ = true;
  for (int slot : lent_until_exit_) CallPayloadAllocator::Get()->EndLend(slot);
  lent_until_exit_.clear();
}

void WorkerChannel::EndLend(const InFlight& call, bool worker_done) {
  if (call.lent_slot < 0) return;
  if (worker_done || exited_) {
    CallPayloadAllocator::Get()->EndLend(call.lent_slot);
  } else {
    lent_until_exit_.push_back(call.lent_slot);
  }
}

int WorkerChannel::CallSlotOf(absl::Span<const char> payload) const {
  if (payload.size() <= SharedRegion::kMaxRingPayload || !region_->has_call_slots()) return -1;
  return CallPayloadAllocator::Get()->SlotOf(payload.data());
}

bool WorkerChannel::CanTake(absl::Span<const char> payload, std::size_t depth) const {
  if (!accepting() || in_flight_.size() >= std::min(depth, SharedRegion::kClaimSlots)) {
    return false;
  }
  if (payload.size() > SharedRegion::kMaxRingPayload) {
    if (CallSlotOf(payload) >= 0) return region_->calls().HasRoom(sizeof(SlotNote));
    return arena_call_ == 0 && region_->calls().HasRoom(sizeof(ArenaNote));
  }
  return region_->calls().HasRoom(payload.size());
}

void WorkerChannel::CountHandedCall() {
  if (config_.max_tasks_per_child > 0 && ++handed_ >= config_.max_tasks_per_child) Retire();
}

void WorkerChannel::WakeWorker(std::atomic<std::uint32_t>& flag) {
  if (flag.load(std::memory_order_seq_cst) == 0 ||
      flag.exchange(0, std::memory_order_seq_cst) == 0) {
    return;
  }
  channel_.Queue(FrameKind::kWake, 0, {}).IgnoreError();
  Flush().IgnoreError();  // a dead pipe: the pidfd reports the end
}

void WorkerChannel::SendCall(std::unique_ptr<PoolTask> task) {
  const absl::Span<const char> payload = task->call().payload();
  const std::uint64_t seq = next_seq_++;
  std::atomic<std::uint64_t>& claim = region_->claim(seq);
  claim.store(ClaimWord(seq, kClaimQueued), std::memory_order_release);
  if (!task->AttachClaim(*region_, seq)) {
    claim.store(ClaimWord(seq, kClaimRevoked), std::memory_order_relaxed);
    return;  // cancelled while queued: dropped
  }
  InFlight call{seq, std::move(task)};
  if (const int slot = CallSlotOf(payload); slot >= 0) {
    // The bytes are in shared memory the worker maps already: it reads them in place. Unless
    // the call may run again (kRetryTask: after a death mid-write its arguments would be gone),
    // the worker may write its outcome over them there.
    if (config_.on_worker_death != WorkerDeath::kRetryTask) {
      call.lent_room = CallPayloadAllocator::Get()->Lend(slot);
      if (call.lent_room > 0) call.lent_slot = slot;
    }
    const SlotNote note{payload.size(), static_cast<std::uint8_t>(slot), RecordKind::kCall, {},
                        call.lent_room};
    region_->calls().Push(RecordKind::kSlot, seq,
                          absl::MakeConstSpan(reinterpret_cast<const char*>(&note), sizeof(note)));
  } else if (payload.size() > SharedRegion::kMaxRingPayload) {
    absl::StatusOr<char*> room = region_->call_arena().PrepareWrite(payload.size());
    if (!room.ok()) {
      claim.store(ClaimWord(seq, kClaimRevoked), std::memory_order_relaxed);
      call.task->DetachClaim();
      call.task->Fail(std::make_exception_ptr(BrokenProcessPool(
          absl::StrCat("the arguments of task '", call.task->call().task_name(), "' (",
                       payload.size(), " bytes) could not be handed to worker ", proc_.pid,
                       ": ", room.status().message()))));
      return;
    }
    std::memcpy(*room, payload.data(), payload.size());
    const ArenaNote note{payload.size(), RecordKind::kCall, {}};
    region_->calls().Push(RecordKind::kArena, seq,
                          absl::MakeConstSpan(reinterpret_cast<const char*>(&note), sizeof(note)));
    arena_call_ = seq;
  } else {
    region_->calls().Push(RecordKind::kCall, seq, payload);  // CanTake checked the room
  }
  if (call.task->timeout() != absl::InfiniteDuration()) ++timed_calls_;
  in_flight_.push_back(std::move(call));
  WakeWorker(region_->calls().control().consumer_sleeping);
  CountHandedCall();
}

std::unique_ptr<PoolTask> WorkerChannel::TakeBackUnclaimed() {
  if (in_flight_.size() < 2) return nullptr;
  InFlight& last = in_flight_.back();
  std::uint64_t expected = ClaimWord(last.seq, kClaimQueued);
  if (!region_->claim(last.seq).compare_exchange_strong(
          expected, ClaimWord(last.seq, kClaimRevoked), std::memory_order_acq_rel)) {
    return nullptr;  // claimed (and so is every call before it), or cancelled
  }
  std::unique_ptr<PoolTask> task = std::move(last.task);
  if (arena_call_ == last.seq) arena_call_ = 0;  // the worker will skip it, arena unread
  EndLend(last, /*worker_done=*/true);
  if (task->timeout() != absl::InfiniteDuration()) --timed_calls_;
  in_flight_.pop_back();
  task->DetachClaim();
  return task;
}

void WorkerChannel::CollectRingFutures(std::vector<AnyFuture>& out) const {
  for (const InFlight& call : in_flight_) out.push_back(call.task->future());
}

void WorkerChannel::Retire() {
  if (retiring_) return;
  retiring_ = true;
  channel_.Queue(FrameKind::kShutdown, 0, {}).IgnoreError();
  if (in_flight_.empty()) StartExitClock(absl::Now());
  Flush().IgnoreError();
}

void WorkerChannel::Recycle(ByteBuffer& spare) {
  if (spare.capacity() == 0 || !channel_.at_frame_boundary()) return;
  channel_.RecycleBuffer(std::move(spare));
  spare = ByteBuffer();
}

absl::Status WorkerChannel::Flush() {
  if (eof_) {
    channel_.DropOutput();
    return absl::OkStatus();
  }
  return channel_.Flush();
}

bool WorkerChannel::SetManagerAsleep(bool asleep) {
  region_->results().control().consumer_sleeping.store(asleep ? 1 : 0,
                                                       std::memory_order_seq_cst);
  return results_waiting();
}

void WorkerChannel::StartExitClock(absl::Time now) {
  told_to_exit_ = true;
  exit_deadline_ = std::min(exit_deadline_, now + config_.exit_grace);
}

void WorkerChannel::MarkTerminated(absl::Time now) {
  told_to_exit_ = true;
  exit_deadline_ = std::min(exit_deadline_, now + config_.kill_grace);
}

absl::Time WorkerChannel::kill_deadline() const {
  if (exited_) return absl::InfiniteFuture();
  return hello_ ? exit_deadline_ : std::min(exit_deadline_, start_deadline_);
}

std::unique_ptr<PoolTask> WorkerChannel::TakeCall(std::uint64_t seq, bool worker_done,
                                                  InFlight* lend) {
  for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
    if (it->seq != seq) continue;
    std::unique_ptr<PoolTask> task = std::move(it->task);
    EndLend(*it, worker_done);
    if (lend != nullptr) {
      lend->lent_slot = it->lent_slot;
      lend->lent_room = it->lent_room;
    }
    if (arena_call_ == seq) arena_call_ = 0;
    if (task->timeout() != absl::InfiniteDuration()) --timed_calls_;
    in_flight_.erase(it);
    if (retiring_ && in_flight_.empty()) StartExitClock(absl::Now());
    return task;
  }
  return nullptr;
}

std::vector<std::unique_ptr<PoolTask>> WorkerChannel::TakeCalls(
    std::vector<std::unique_ptr<PoolTask>>* started) {
  channel_.DropOutput();  // before the tasks whose payloads it points at go
  std::vector<std::unique_ptr<PoolTask>> calls;
  for (InFlight& call : in_flight_) {
    std::uint64_t word = ClaimWord(call.seq, kClaimQueued);
    const bool revoked = region_->claim(call.seq).compare_exchange_strong(
        word, ClaimWord(call.seq, kClaimRevoked), std::memory_order_acq_rel);
    // Not revoked now: claimed by the worker, or revoked by Cancel() (done: dropped later).
    const bool claimed = !revoked && word != ClaimWord(call.seq, kClaimRevoked);
    EndLend(call, /*worker_done=*/!claimed);
    call.lent_slot = -1;
    call.task->DetachClaim();
    (claimed && started != nullptr ? *started : calls).push_back(std::move(call.task));
  }
  in_flight_.clear();
  timed_calls_ = 0;
  arena_call_ = 0;
  return calls;
}

bool WorkerChannel::running_a_call() const {
  if (in_flight_.empty()) return false;
  const std::uint64_t seq = in_flight_.front().seq;
  const std::uint64_t word = region_->claim(seq).load(std::memory_order_acquire);
  return word != ClaimWord(seq, kClaimQueued) && word != ClaimWord(seq, kClaimRevoked);
}

}  // namespace cf::internal
