#include "cf/process_pool/internal/worker_channel.h"

#include <fcntl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cf/process_pool/internal/worker_loop.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int PrepareFd(int fd) {
  SetNonBlocking(fd);
  return fd;
}

}  // namespace

WorkerChannel::WorkerChannel(WorkerProcess proc, const PoolConfig& config, absl::Time now)
    : proc_(std::move(proc)),
      config_(config),
      channel_(PrepareFd(proc_.from_worker.get()), PrepareFd(proc_.to_worker.get()),
               config.max_payload_size),
      config_payload_(EncodeWorkerConfig(config.max_payload_size)),
      start_deadline_(now + config.start_timeout) {
  EnlargePipeBuffer(proc_.to_worker.get()).IgnoreError();
  // Neither can be over the limit: 8 bytes, and an initializer checked at construction.
  channel_.Queue(FrameKind::kConfigure, 0, config_payload_).IgnoreError();
  if (config_.initializer) {
    channel_.Queue(FrameKind::kInitialize, 0, config_.initializer.payload()).IgnoreError();
  }
}

WorkerChannel::~WorkerChannel() { channel_.DropOutput(); }

void WorkerChannel::SendCall(std::uint64_t id, std::unique_ptr<PoolTask> task) {
  const absl::Span<const char> payload = task->call().payload();
  in_flight_.emplace_back(id, std::move(task));
  // The size was checked at Submit against the same limit; a failure here is a dead pipe,
  // which the pidfd reports.
  channel_.Queue(FrameKind::kCall, id, payload).IgnoreError();
  if (config_.max_tasks_per_child > 0 && ++handed_ >= config_.max_tasks_per_child) {
    Retire();  // flushes
  } else {
    Flush().IgnoreError();
  }
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

void WorkerChannel::StartExitClock(absl::Time now) {
  told_to_exit_ = true;
  exit_deadline_ = std::min(exit_deadline_, now + config_.exit_grace);
}

void WorkerChannel::MarkTerminated(absl::Time now) { StartExitClock(now); }

absl::Time WorkerChannel::kill_deadline() const {
  if (exited_) return absl::InfiniteFuture();
  return hello_ ? exit_deadline_ : std::min(exit_deadline_, start_deadline_);
}

absl::Status WorkerChannel::Read(
    absl::FunctionRef<void(std::unique_ptr<PoolTask>, Frame&)> on_reply) {
  if (eof_) return absl::OkStatus();
  absl::Status problem;
  absl::Status s = channel_.ReadAvailable([&](Frame& frame) {
    switch (frame.kind) {
      case FrameKind::kHello:
        hello_ = true;
        return true;
      case FrameKind::kGoodbye:
        goodbye_ = true;
        return true;
      case FrameKind::kResult:
      case FrameKind::kException:
        if (frame.task_id == 0 && frame.kind == FrameKind::kException) {
          absl::StatusOr<ExceptionInfo> info = DecodeExceptionInfo(
              absl::MakeConstSpan(frame.payload.data(), frame.payload.size()));
          init_error_ = info.ok() ? absl::StrCat(info->type_name, ": ", info->message)
                                  : std::string(info.status().message());
          return true;
        }
        if (in_flight_.empty() || in_flight_.front().first != frame.task_id) {
          problem = absl::DataLossError(absl::StrCat(
              "worker ", proc_.pid, " answered call ", frame.task_id, " which it was not running"));
          return false;
        }
        {
          std::unique_ptr<PoolTask> task = std::move(in_flight_.front().second);
          in_flight_.pop_front();
          if (retiring_ && in_flight_.empty()) StartExitClock(absl::Now());
          on_reply(std::move(task), frame);
        }
        return true;
      default:
        problem = absl::DataLossError(absl::StrCat("worker ", proc_.pid, " sent an unexpected ",
                                                   FrameKindName(frame.kind), " frame"));
        return false;
    }
  });
  if (!problem.ok()) return problem;
  if (s.ok()) return s;
  if (!absl::IsDataLoss(s) && !absl::IsResourceExhausted(s)) {
    eof_ = true;  // closed (maybe mid-frame), or a read error: its pidfd reports how it ended
    channel_.DropOutput();
    return absl::OkStatus();
  }
  return absl::DataLossError(
      absl::StrCat("worker ", proc_.pid, " sent a malformed stream: ", s.message()));
}

std::vector<std::unique_ptr<PoolTask>> WorkerChannel::TakeCalls() {
  channel_.DropOutput();  // before the tasks whose payloads it points at go
  std::vector<std::unique_ptr<PoolTask>> calls;
  for (auto& [id, task] : in_flight_) calls.push_back(std::move(task));
  in_flight_.clear();
  return calls;
}

}  // namespace cf::internal
