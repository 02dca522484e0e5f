#include "cf/process_pool/internal/worker_loop.h"

#include <unistd.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

int RunWorker(int in_fd, int out_fd) {
  FrameReader reader(in_fd);
  FrameWriter writer(out_fd);
  EnlargePipeBuffer(out_fd).IgnoreError();
  if (!writer.Write(FrameKind::kHello, static_cast<std::uint64_t>(getpid()), {}).ok()) return 0;

  Frame frame;
  TaskOutcome outcome;
  for (;;) {
    const absl::Status read = reader.ReadInto(&frame);
    if (!read.ok()) return 0;  // the pool closed the pipe (or broke the stream): nothing to do
    switch (frame.kind) {
      case FrameKind::kInitialize:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        if (outcome.kind == FrameKind::kException) {
          writer.Write(FrameKind::kException, 0, outcome.payload).IgnoreError();
          return kInitializerFailedExitCode;
        }
        break;
      case FrameKind::kCall:
        RunTaskCall(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()), &outcome);
        if (!writer.Write(outcome.kind, frame.task_id, outcome.payload).ok()) return 0;
        break;
      case FrameKind::kShutdown:
        writer.Write(FrameKind::kGoodbye, static_cast<std::uint64_t>(getpid()), {}).IgnoreError();
        return 0;
      default:
        // Not something a pool sends: the stream cannot be trusted any more.
        return 2;
    }
  }
}

}  // namespace cf::internal
