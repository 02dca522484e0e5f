#include "cf/process_pool/internal/worker_loop.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/frame_channel.h"
#include "cf/process_pool/internal/shared_region.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/internal/forked_copy.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

// Until kConfigure says otherwise (it is the pool's first frame).
constexpr std::uint64_t kInitialLimit = kDefaultMaxFramePayload;

// A result (or exception) too big for the pool's frames becomes a SerializationError for that
// call alone.
void EnforceLimit(const FrameChannel& channel, TaskOutcome& outcome) {
  if (outcome.payload.size() <= channel.max_payload_size()) return;
  const std::string message = OversizeResultMessage(outcome.task_name, outcome.kind ==
                                                    FrameKind::kResult, outcome.payload.size(),
                                                    channel.max_payload_size());
  outcome.kind = FrameKind::kException;
  outcome.payload.clear();
  EncodeException(std::make_exception_ptr(SerializationError(message)), outcome.task_name,
                  &outcome.payload);
}

}  // namespace

std::string EncodeWorkerConfig(std::uint64_t max_payload_size, bool has_initializer) {
  std::string payload(9, '\0');
  for (int i = 0; i < 8; ++i) payload[i] = static_cast<char>((max_payload_size >> (8 * i)) & 0xff);
  payload[8] = has_initializer ? 1 : 0;
  return payload;
}

namespace {

// How long an idle worker watches its ring before it sleeps on the pipe.
constexpr absl::Duration kWorkerSpin = absl::Microseconds(50);

class Worker {
 public:
  Worker(int in_fd, int out_fd, std::shared_ptr<SharedRegion> region)
      : channel_(in_fd, out_fd, kInitialLimit),
        spin_(SpinBudget(kWorkerSpin)),
        region_(std::move(region)),
        calls_(region_->calls()),
        results_(region_->results()),
        result_allocator_(&region_->result_arena(), SharedRegion::kMaxRingPayload) {
    EnlargePipeBuffer(out_fd).IgnoreError();
  }

  int Run() {
    if (!channel_.Write(FrameKind::kHello, static_cast<std::uint64_t>(getpid()), {}).ok()) {
      return 0;
    }
    // kConfigure and kInitialize come before any call is looked at.
    while (!configured_ || awaiting_initializer_) {
      if (int code = 0; !ReadAndHandleFrame(&code)) return code;
    }
    for (;;) {
      RingRecord record;
      if (calls_.Peek(&record)) {
        absl::Span<const char> call = record.payload;
        ArenaNote note{};
        SlotNote slot{};
        if (record.kind == RecordKind::kArena) {
          if (record.payload.size() != sizeof(note)) return 2;  // a corrupt ring: stop
          std::memcpy(&note, record.payload.data(), sizeof(note));
          if (note.kind != RecordKind::kCall) return 2;
        } else if (record.kind == RecordKind::kSlot) {
          if (record.payload.size() != sizeof(slot)) return 2;
          std::memcpy(&slot, record.payload.data(), sizeof(slot));
          if (slot.kind != RecordKind::kCall) return 2;
        } else if (record.kind != RecordKind::kCall) {
          return 2;
        }
        if (!Claim(record.seq)) {
          calls_.Pop();
          if (!PushResult(RecordKind::kSkipped, record.seq, {})) return 0;
          continue;
        }
        if (record.kind == RecordKind::kArena) {
          absl::StatusOr<absl::Span<const char>> bytes =
              region_->call_arena().Read(note.size);
          if (!bytes.ok()) return 2;
          call = *bytes;
        } else if (record.kind == RecordKind::kSlot) {
          // Mapped as far as the outcome may go too, so that nothing is remapped under the call.
          absl::StatusOr<absl::Span<const char>> bytes =
              region_->ReadCallSlot(slot.slot, std::max(slot.size, slot.result_room));
          if (!bytes.ok()) return 2;
          call = bytes->first(slot.size);
        }
        ReleaseDecoded();
        PrepareOutcomeBuffer(record.kind == RecordKind::kSlot ? &slot : nullptr);
        RunTaskCall(call, &outcome_);
        calls_.Pop();  // room for the pool's next calls while the result goes out
        if (!SendOutcome(record.seq)) return 0;
        if (!outcome_.attachments.empty()) {
          // What the result refers to (a cf::SharedBuffer the task made) lives until the pool
          // has decoded it.
          held_.emplace_back(record.seq, std::move(outcome_.attachments));
          outcome_.attachments.clear();
        }
        continue;
      }
      if (shutdown_) {
        if (!AwaitResultsRoom([&] { return ReleaseDecoded(); })) return 0;
        channel_.Write(FrameKind::kGoodbye, static_cast<std::uint64_t>(getpid()), {})
            .IgnoreError();
        return 0;
      }
      if (SpinUntil([&] { return !calls_.Empty(); }, spin_)) continue;
      auto& sleeping = calls_.control().consumer_sleeping;
      sleeping.store(1, std::memory_order_seq_cst);
      if (!calls_.Empty()) {
        sleeping.store(0, std::memory_order_relaxed);
        continue;
      }
      int code = 0;
      const bool go_on = ReadAndHandleFrame(&code);
      sleeping.store(0, std::memory_order_relaxed);
      if (!go_on) return code;
    }
  }

 private:
  // Drops what decoded results referred to; true when nothing is held any more.
  bool ReleaseDecoded() {
    const std::uint64_t decoded =
        results_.control().decoded_seq.load(std::memory_order_acquire);
    while (!held_.empty() && held_.front().first <= decoded) held_.pop_front();
    return held_.empty();
  }

  bool Claim(std::uint64_t seq) {
    std::uint64_t expected = ClaimWord(seq, kClaimQueued);
    return region_->claim(seq).compare_exchange_strong(
        expected, ClaimWord(seq, kClaimClaimed), std::memory_order_acq_rel);
  }

  // Reads one frame from the pipe (blocking) and handles it; false: exit with *code.
  bool ReadAndHandleFrame(int* code) {
    if (!channel_.ReadFrame(&frame_).ok()) {
      *code = 0;  // the pool closed the pipe: nothing to do
      return false;
    }
    switch (frame_.kind) {
      case FrameKind::kWake:
        return true;
      case FrameKind::kConfigure: {
        if (frame_.payload.size() < 9) {
          *code = 2;
          return false;
        }
        std::uint64_t limit = 0;
        for (int i = 0; i < 8; ++i) {
          limit |= static_cast<std::uint64_t>(static_cast<unsigned char>(frame_.payload.data()[i]))
                   << (8 * i);
        }
        channel_.set_max_payload_size(limit);
        configured_ = true;
        awaiting_initializer_ = frame_.payload.data()[8] != 0;
        return true;
      }
      case FrameKind::kInitialize:
        awaiting_initializer_ = false;
        RunTaskCall(absl::MakeConstSpan(frame_.payload.data(), frame_.payload.size()), &outcome_);
        if (outcome_.kind == FrameKind::kException) {
          EnforceLimit(channel_, outcome_);
          channel_.Write(FrameKind::kException, 0, outcome_.payload).IgnoreError();
          *code = kInitializerFailedExitCode;
          return false;
        }
        return true;
      case FrameKind::kShutdown:
        shutdown_ = true;
        return true;
      default:
        // Not something a pool sends: the stream cannot be trusted any more.
        *code = 2;
        return false;
    }
  }

  // Where the next call's outcome is encoded. If the pool lent the call's slot (`slot` has
  // result_room), over the call's arguments there (through slot_allocator_, once it outgrows
  // the ring; the call is decoded before its task returns). Else straight into the result
  // arena (result_allocator_) when the pool is done with the arena's last payload — only this
  // worker makes it busy again, so it stays free until SendOutcome — else on the heap, to be
  // copied in once the arena is free. A giant's pages beyond kKeepBytes go back once a call no
  // longer needs them. The previous outcome's bytes stay where they are (the buffer lets go).
  void PrepareOutcomeBuffer(const SlotNote* slot) {
    const bool arena_free = results_.control().arena_busy.load(std::memory_order_seq_cst) == 0;
    ByteBuffer& buffer = outcome_.payload;
    PayloadArena& arena = region_->result_arena();
    const bool lent = slot != nullptr && slot->result_room > SharedRegion::kMaxRingPayload;
    if (slot_allocator_.Holds(buffer.data()) ||
        (result_allocator_.Holds(buffer.data()) &&
         (lent || !arena_free || arena.mapped() > PayloadArena::kKeepBytes))) {
      buffer.ReleaseMemory();
    }
    if (arena_free && arena.mapped() > PayloadArena::kKeepBytes) arena.Trim();
    ByteBuffer::Allocator* allocator = arena_free ? &result_allocator_ : nullptr;
    if (lent) {
      slot_allocator_.Use(&region_->call_slot(slot->slot), slot->result_room);
      lent_slot_ = slot->slot;
      allocator = &slot_allocator_;
    }
    if (buffer.allocator() != allocator) buffer = ByteBuffer(allocator);
  }

  // The outcome of call `seq`: in the ring if it fits, else in the result arena (already there
  // if it was encoded there) once the pool is done with the previous one there.
  bool SendOutcome(std::uint64_t seq) {
    EnforceLimit(channel_, outcome_);
    const RecordKind kind =
        outcome_.kind == FrameKind::kResult ? RecordKind::kResult : RecordKind::kException;
    if (outcome_.payload.size() <= SharedRegion::kMaxRingPayload) {
      return PushResult(kind, seq, outcome_.payload);
    }
    if (slot_allocator_.Holds(outcome_.payload.data())) {
      const SlotNote note{outcome_.payload.size(), lent_slot_, kind, {}, 0};
      return PushResult(RecordKind::kSlot, seq,
                        absl::MakeConstSpan(reinterpret_cast<const char*>(&note), sizeof(note)));
    }
    auto& busy = results_.control().arena_busy;
    if (result_allocator_.Holds(outcome_.payload.data())) {
      busy.store(1, std::memory_order_relaxed);  // published by the record's release
      const ArenaNote note{outcome_.payload.size(), kind, {}};
      return PushResult(RecordKind::kArena, seq,
                        absl::MakeConstSpan(reinterpret_cast<const char*>(&note), sizeof(note)));
    }
    if (!AwaitResultsRoom([&] { return busy.load(std::memory_order_seq_cst) == 0; })) {
      return false;
    }
    absl::StatusOr<char*> room = region_->result_arena().PrepareWrite(outcome_.payload.size());
    if (!room.ok()) {
      // No memory for it: this call fails, the worker goes on.
      const std::string message = absl::StrCat(
          "the result of task '", outcome_.task_name, "' (", outcome_.payload.size(),
          " bytes) could not be handed back: ", room.status().message());
      outcome_.payload.clear();
      EncodeException(std::make_exception_ptr(SerializationError(message)), outcome_.task_name,
                      &outcome_.payload);
      return PushResult(RecordKind::kException, seq, outcome_.payload);
    }
    std::memcpy(*room, outcome_.payload.data(), outcome_.payload.size());
    busy.store(1, std::memory_order_relaxed);  // published by the record's release
    const ArenaNote note{outcome_.payload.size(), kind, {}};
    return PushResult(RecordKind::kArena, seq,
                      absl::MakeConstSpan(reinterpret_cast<const char*>(&note), sizeof(note)));
  }

  bool PushResult(RecordKind kind, std::uint64_t seq, absl::Span<const char> payload) {
    while (!results_.Push(kind, seq, payload)) {
      if (!AwaitResultsRoom([&] { return results_.HasRoom(payload.size()); })) return false;
    }
    auto& sleeping = results_.control().consumer_sleeping;
    if (sleeping.load(std::memory_order_seq_cst) != 0 &&
        sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
      return channel_.Write(FrameKind::kWake, 0, {}).ok();
    }
    return true;
  }

  // Waits until ready() — room in the result ring, or the result arena free — which the pool
  // brings about (and then wakes us on the call pipe, since we set producer_waiting).
  bool AwaitResultsRoom(absl::FunctionRef<bool()> ready) {
    if (SpinUntil(ready, spin_)) return true;
    auto& waiting = results_.control().producer_waiting;
    waiting.store(1, std::memory_order_seq_cst);
    while (!ready()) {
      // Only a doorbell or kShutdown can come now: calls come through the ring.
      if (!channel_.ReadFrame(&frame_).ok()) return false;
      if (frame_.kind == FrameKind::kShutdown) {
        shutdown_ = true;
      } else if (frame_.kind != FrameKind::kWake) {
        return false;
      }
      waiting.store(1, std::memory_order_seq_cst);
    }
    waiting.store(0, std::memory_order_relaxed);
    return true;
  }

  FrameChannel channel_;
  const absl::Duration spin_;
  std::shared_ptr<SharedRegion> region_;
  ByteRing& calls_;
  ByteRing& results_;
  Frame frame_;
  ResultArenaAllocator result_allocator_;  // before outcome_, whose buffer may use them
  ResultArenaAllocator slot_allocator_{nullptr, SharedRegion::kMaxRingPayload, 0};
  std::uint8_t lent_slot_ = 0;  // the call slot slot_allocator_ writes in
  TaskOutcome outcome_;
  std::deque<std::pair<std::uint64_t, Attachments>> held_;  // by call seq, until decoded
  bool configured_ = false;
  bool awaiting_initializer_ = false;
  bool shutdown_ = false;
};

}  // namespace

int RunWorker(int in_fd, int out_fd, int channel_fd) {
  // Its own process group, so that the pool can end a task that timed out together with the
  // processes it started (task_deadlines.cc). (A terminal's Ctrl-C then reaches the program,
  // not its workers; they die with it: PR_SET_PDEATHSIG.)
  setpgid(0, 0);
  // A task that fork()s without exec returns in both processes: only this one may answer.
  WatchForForkedCopies();
  // A worker is cf's own process: keep big buffers (arguments, results, frames) in the heap
  // between calls instead of handing them back to the kernel and faulting them in again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  absl::StatusOr<std::shared_ptr<SharedRegion>> region = SharedRegion::Attach(channel_fd);
  if (!region.ok()) {
    const std::string message =
        absl::StrCat("cf: process-pool worker ", getpid(),
                     " cannot map the pool's channel: ", region.status().message(), "\n");
    (void)!write(2, message.data(), message.size());
    return 2;
  }
  Worker worker(in_fd, out_fd, *std::move(region));
  return worker.Run();
}

}  // namespace cf::internal
