#include "cf/process_pool/internal/worker_loop.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/frame_channel.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/exception.h"
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

std::string EncodeWorkerConfig(std::uint64_t max_payload_size) {
  std::string payload(8, '\0');
  for (int i = 0; i < 8; ++i) payload[i] = static_cast<char>((max_payload_size >> (8 * i)) & 0xff);
  return payload;
}

int RunWorker(int in_fd, int out_fd) {
  // A worker is cf's own process: keep big buffers (arguments, results, frames) in the heap
  // between calls instead of handing them back to the kernel and faulting them in again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  FrameChannel channel(in_fd, out_fd, kInitialLimit);
  EnlargePipeBuffer(out_fd).IgnoreError();
  if (!channel.Write(FrameKind::kHello, static_cast<std::uint64_t>(getpid()), {}).ok()) return 0;

  Frame frame;
  TaskOutcome outcome;
  for (;;) {
    if (!channel.ReadFrame(&frame).ok()) return 0;  // the pool closed the pipe: nothing to do
    switch (frame.kind) {
      case FrameKind::kConfigure: {
        if (frame.payload.size() < 8) return 2;
        std::uint64_t limit = 0;
        for (int i = 0; i < 8; ++i) {
          limit |= static_cast<std::uint64_t>(static_cast<unsigned char>(frame.payload.data()[i]))
                   << (8 * i);
        }
        channel.set_max_payload_size(limit);
        break;
      }
      case FrameKind::kInitialize:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        if (outcome.kind == FrameKind::kException) {
          EnforceLimit(channel, outcome);
          channel.Write(FrameKind::kException, 0, outcome.payload).IgnoreError();
          return kInitializerFailedExitCode;
        }
        break;
      case FrameKind::kCall:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        EnforceLimit(channel, outcome);
        if (!channel.Write(outcome.kind, frame.task_id, outcome.payload).ok()) return 0;
        break;
      case FrameKind::kShutdown:
        channel.Write(FrameKind::kGoodbye, static_cast<std::uint64_t>(getpid()), {})
            .IgnoreError();
        return 0;
      default:
        // Not something a pool sends: the stream cannot be trusted any more.
        return 2;
    }
  }
}

}  // namespace cf::internal
