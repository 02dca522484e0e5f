// MpiCore's initializer (see mpi_core.h): run on every worker rank, or on rank 0 in a job of
// one rank, before the manager starts; a failing one breaks the executor with its workers intact.
#include <errno.h>
#include <mpi.h>
#include <signal.h>

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/mpi/internal/mpi_core.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/mpi/internal/mpi_runtime.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {

void MpiCore::RunInitializer() {
  if (!config_.initializer) return;
  const absl::Span<const char> init = config_.initializer.payload();
  std::string failure;
  bool workers_lost = false;
  auto describe = [](int rank, absl::Span<const char> encoded) {
    absl::StatusOr<ExceptionInfo> info = DecodeExceptionInfo(encoded);
    return absl::StrCat("the initializer failed on MPI rank ", rank, ": ",
                        info.ok() ? absl::StrCat(info->type_name, ": ", info->message)
                                  : std::string(info.status().message()));
  };
  if (config_.route == MpiPoolConfig::kLocal) {
    const TaskOutcome outcome = RunTaskCall(init);
    if (outcome.kind == FrameKind::kException) failure = describe(0, outcome.payload);
  } else {
    absl::MutexLock mpi(&MpiLock());
    ByteBuffer scratch;
    std::size_t sent = 0;
    for (const Worker& w : workers_) {
      const absl::Status s =
          SendMpiFrame(comm_, w.info.rank, kCallTag, FrameKind::kInitialize, 0, init, &scratch);
      if (!s.ok()) {
        failure = absl::StrCat("the initializer could not be sent to MPI rank ", w.info.rank,
                               ": ", s.message());
        workers_lost = true;  // out of step: no more MPI towards them
        break;
      }
      ++sent;
    }
    // Every rank that got it answers (an exception, or nothing), in any order. A spawned worker
    // that dies meanwhile is noticed as the watchdog would (Open MPI would not say).
    for (std::size_t answered = 0; answered < sent && !workers_lost;) {
      int flag = 0;
      MPI_Status probed;
      MPI_Iprobe(MPI_ANY_SOURCE, kReplyTag, comm_, &flag, &probed);
      if (!flag) {
        for (const Worker& w : workers_) {
          if (w.local_host && w.info.pid > 0 && kill(w.info.pid, 0) != 0 && errno == ESRCH) {
            failure = absl::StrCat("MPI worker rank ", w.info.rank, ", pid ", w.info.pid,
                                   " on ", w.info.host, ", ended while running the initializer");
            workers_lost = true;
            MarkMpiDamaged();
          }
        }
        absl::SleepFor(absl::Microseconds(200));
        continue;
      }
      FrameHeader header;
      absl::Span<const char> payload;
      const absl::Status s = ReceiveMpiFrame(comm_, probed, &message_, &header, &payload);
      if (!s.ok() || header.task_id != 0 ||
          (header.kind != FrameKind::kResult && header.kind != FrameKind::kException)) {
        failure = absl::StrCat("MPI rank ", probed.MPI_SOURCE,
                               " answered its initializer with a malformed message");
        workers_lost = true;
        break;
      }
      if (header.kind == FrameKind::kException && failure.empty()) {
        failure = describe(probed.MPI_SOURCE, payload);
      }
      ++answered;
    }
  }
  if (failure.empty()) return;
  absl::MutexLock lock(&mu_);
  broken_ = true;
  broken_detail_ = std::move(failure);
  workers_intact_ = !workers_lost;
}

MpiCore::~MpiCore() {
  if (world_held_) ReleaseWorld();
}

}  // namespace cf::internal
