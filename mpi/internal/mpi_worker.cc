#include "cf/mpi/internal/mpi_worker.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/internal/forked_copy.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

void Complain(absl::string_view what) {
  const std::string line = absl::StrCat("cf: MPI worker (pid ", getpid(), "): ", what, "\n");
  std::fputs(line.c_str(), stderr);
}

// An outcome that cannot travel as it is becomes a SerializationError for its call alone.
void MakeSendable(TaskOutcome& outcome) {
  std::string why;
  if (!outcome.attachments.empty()) {
    why = "its result holds a cf::SharedBuffer, which refers to one host's memory and cannot "
          "cross MPI ranks";
  } else if (outcome.payload.size() > kMaxMpiPayload) {
    why = absl::StrCat("its result is ", outcome.payload.size(),
                       " bytes encoded, over the limit of one MPI message (", kMaxMpiPayload,
                       ")");
  } else {
    return;
  }
  outcome.kind = FrameKind::kException;
  outcome.payload.clear();
  outcome.attachments.clear();
  EncodeException(std::make_exception_ptr(SerializationError(
                      absl::StrCat("task '", outcome.task_name, "' failed: ", why))),
                  outcome.task_name, &outcome.payload);
}

}  // namespace

void AwaitMpiMessage(MPI_Comm comm, int source, int tag, MPI_Status* status) {
  int flag = 0;
  const absl::Time spin_end = absl::Now() + kWorkerSpin;
  do {
    MPI_Iprobe(source, tag, comm, &flag, status);
    if (flag) return;
  } while (absl::Now() < spin_end);
  absl::Duration nap = absl::Microseconds(10);
  for (;;) {
    absl::SleepFor(nap);
    MPI_Iprobe(source, tag, comm, &flag, status);
    if (flag) return;
    nap = std::min(nap * 2, kWorkerMaxSleep);
  }
}

int RunMpiWorker(MPI_Comm comm, int main_rank, bool send_hello) {
  // A task that fork()s without exec returns in both processes: only this one may answer.
  WatchForForkedCopies();
  ByteBuffer message;
  ByteBuffer scratch;
  TaskOutcome outcome;
  if (send_hello) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    const absl::Status sent =
        SendMpiFrame(comm, main_rank, kReplyTag, FrameKind::kHello,
                     static_cast<std::uint64_t>(getpid()),
                     absl::MakeConstSpan(host, std::char_traits<char>::length(host)), &scratch);
    if (!sent.ok()) {
      Complain(sent.message());
      return 2;
    }
  }
  for (;;) {
    MPI_Status probed;
    AwaitMpiMessage(comm, main_rank, kCallTag, &probed);
    FrameHeader header;
    absl::Span<const char> payload;
    if (absl::Status s = ReceiveMpiFrame(comm, probed, &message, &header, &payload); !s.ok()) {
      Complain(absl::StrCat("a malformed call message: ", s.message()));
      return 2;
    }
    if (header.kind == FrameKind::kShutdown) return 0;
    if (header.kind == FrameKind::kInitialize) {
      // Answered whatever happens (task id 0): the executor waits for every rank's answer.
      RunTaskCall(payload, &outcome);
      MakeSendable(outcome);
      const absl::Status sent =
          SendMpiFrame(comm, main_rank, kReplyTag, outcome.kind, 0, outcome.payload, &scratch);
      if (!sent.ok()) {
        Complain(sent.message());
        return 2;
      }
      continue;
    }
    if (header.kind != FrameKind::kCall) {
      Complain(absl::StrCat("an unexpected ", FrameKindName(header.kind), " frame"));
      return 2;
    }
    RunTaskCall(payload, &outcome);
    MakeSendable(outcome);
    const absl::Status sent = SendMpiFrame(comm, main_rank, kReplyTag, outcome.kind,
                                           header.task_id, outcome.payload, &scratch);
    if (!sent.ok()) {
      Complain(sent.message());
      return 2;
    }
  }
}

}  // namespace cf::internal
