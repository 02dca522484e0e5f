// WorkerChannel's reading side (see worker_channel.h): what a worker sends on its pipe (hello,
// goodbye, doorbells, its initializer's exception) and the outcomes in its result ring — in the
// ring, in its result arena, or in the call slot lent with the call — each matched to its call.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cf/process_pool/internal/shared_region.h"
#include "cf/process_pool/internal/worker_channel.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

absl::Status WorkerChannel::Read(absl::FunctionRef<void(Reply&)> on_reply) {
  if (eof_) return ReadRing(on_reply);
  absl::Status problem;
  absl::Status s = channel_.ReadAvailable([&](Frame& frame) {
    switch (frame.kind) {
      case FrameKind::kHello:
        hello_ = true;
        return true;
      case FrameKind::kGoodbye:
        goodbye_ = true;
        return true;
      case FrameKind::kWake:
        return true;  // the ring is read after the pipe
      case FrameKind::kException:
        if (frame.task_id == 0) {  // the initializer's
          absl::StatusOr<ExceptionInfo> info = DecodeExceptionInfo(
              absl::MakeConstSpan(frame.payload.data(), frame.payload.size()));
          init_error_ = info.ok() ? absl::StrCat(info->type_name, ": ", info->message)
                                  : std::string(info.status().message());
          return true;
        }
        [[fallthrough]];
      default:
        problem = absl::DataLossError(absl::StrCat("worker ", proc_.pid, " sent an unexpected ",
                                                   FrameKindName(frame.kind), " frame"));
        return false;
    }
  });
  if (!problem.ok()) return problem;
  if (s.ok()) return ReadRing(on_reply);
  if (!absl::IsDataLoss(s) && !absl::IsResourceExhausted(s)) {
    eof_ = true;  // closed (maybe mid-frame), or a read error: its pidfd reports how it ended
    channel_.DropOutput();
    return ReadRing(on_reply);
  }
  return absl::DataLossError(
      absl::StrCat("worker ", proc_.pid, " sent a malformed stream: ", s.message()));
}

absl::Status WorkerChannel::ReadRing(absl::FunctionRef<void(Reply&)> on_reply) {
  if (ended_by_pool_) return absl::OkStatus();  // its calls are settled: nothing to read
  ByteRing& results = region_->results();
  RingRecord record;
  bool popped = false;
  while (results.Peek(&record)) {
    RecordKind kind = record.kind;
    ArenaNote note{};
    SlotNote slot_note{};
    if (kind == RecordKind::kArena) {
      bool valid = record.payload.size() == sizeof(note);
      if (valid) {
        std::memcpy(&note, record.payload.data(), sizeof(note));
        valid = note.kind == RecordKind::kResult || note.kind == RecordKind::kException;
      }
      if (!valid) kind = RecordKind::kPad;  // corrupt
    } else if (kind == RecordKind::kSlot) {
      bool valid = record.payload.size() == sizeof(slot_note);
      if (valid) {
        std::memcpy(&slot_note, record.payload.data(), sizeof(slot_note));
        valid = slot_note.kind == RecordKind::kResult || slot_note.kind == RecordKind::kException;
      }
      if (valid) {
        note.size = slot_note.size;
        note.kind = slot_note.kind;
      } else {
        kind = RecordKind::kPad;  // corrupt
      }
    }
    Reply reply;
    switch (kind) {
      case RecordKind::kSkipped:
        // Revoked before the worker claimed it: by Cancel() (drop it now: its future is
        // cancelled), or taken back for another worker (no longer ours: nothing to find).
        reply.task = TakeCall(record.seq, /*worker_done=*/true);
        if (reply.task != nullptr) reply.task->DetachClaim();
        results.Pop();
        popped = true;
        continue;
      case RecordKind::kResult:
      case RecordKind::kException:
      case RecordKind::kArena:
      case RecordKind::kSlot: {
        InFlight lend{};
        reply.task = TakeCall(record.seq, /*worker_done=*/true, &lend);
        if (reply.task == nullptr) {
          return absl::DataLossError(absl::StrCat("worker ", proc_.pid, " answered call ",
                                                  record.seq, " which it was not running"));
        }
        const bool noted = kind == RecordKind::kArena || kind == RecordKind::kSlot;
        const RecordKind outcome = noted ? note.kind : kind;
        reply.frame.kind =
            outcome == RecordKind::kResult ? FrameKind::kResult : FrameKind::kException;
        reply.frame.task_id = record.seq;
        reply.seq = record.seq;
        reply.region = region_;
        if (kind == RecordKind::kArena) {
          absl::StatusOr<absl::Span<const char>> bytes = region_->result_arena().Read(note.size);
          if (!bytes.ok()) {
            return absl::DataLossError(absl::StrCat("worker ", proc_.pid, "'s result for call ",
                                                    record.seq, ": ", bytes.status().message()));
          }
          reply.arena = *bytes;
        } else if (kind == RecordKind::kSlot) {
          // Written over the call's arguments, in the slot lent with the call.
          if (lend.lent_slot != slot_note.slot || note.size > lend.lent_room) {
            return absl::DataLossError(absl::StrCat(
                "worker ", proc_.pid, "'s result for call ", record.seq, " is in call slot ",
                slot_note.slot, " (", note.size, " bytes), which was not lent to it for that"));
          }
          reply.arena = absl::MakeConstSpan(reply.task->call().payload().data(), note.size);
          reply.in_call_slot = true;
        } else {
          reply.frame.payload.Append(record.payload);
        }
        results.Pop();
        popped = true;
        on_reply(reply);
        continue;
      }
      default:
        return absl::DataLossError(
            absl::StrCat("worker ", proc_.pid, "'s result ring is corrupt"));
    }
  }
  if (popped) WakeWorker(results.control().producer_waiting);
  return absl::OkStatus();
}

void WorkerChannel::ReleaseResult(const Reply& reply) {
  if (reply.region == nullptr) return;
  ByteRing::Control& control = reply.region->results().control();
  control.decoded_seq.store(reply.seq, std::memory_order_release);
  if (reply.arena.data() != nullptr && !reply.in_call_slot) {
    control.arena_busy.store(0, std::memory_order_seq_cst);
  }
}

}  // namespace cf::internal
