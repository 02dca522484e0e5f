// MpiCore's spawned workers (the dynamic route): MPI_Comm_spawn, their hellos, the liveness
// check, and their end (see mpi_core.h).
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/mpi/internal/mpi_core.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/mpi/internal/mpi_runtime.h"

namespace cf::internal {
namespace {

// How long spawned workers have to say hello.
constexpr absl::Duration kHelloTimeout = absl::Seconds(60);
// How long MPI_Comm_spawn may take. Debian 12's Open MPI 4.1.4 with its external PMIx 4.2 hangs
// inside it now and then (seen about once in 60 spawns on the development VM: the parent waits
// in PMIx_Lookup, the new processes in MPI_Init; a known PMIx 4 problem): an executor then fails
// to start, saying so, instead of hanging its caller for ever.
constexpr absl::Duration kSpawnTimeout = absl::Seconds(60);

// One MPI_Comm_spawn, made on a thread of its own so that the executor's constructor can give
// up on it; shared, since that thread may outlive the constructor.
struct SpawnCall {
  std::string binary;
  std::vector<std::string> args;
  std::string hostfile;
  int n = 0;
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  int rc ABSL_GUARDED_BY(mu) = MPI_SUCCESS;
  MPI_Comm comm ABSL_GUARDED_BY(mu) = MPI_COMM_NULL;

  void Run() {
    BlockSigpipeInThisThread();  // and the threads Open MPI starts for the new job inherit it
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<int> errcodes(static_cast<size_t>(n), MPI_SUCCESS);
    MPI_Comm spawned = MPI_COMM_NULL;
    int result;
    {
      absl::MutexLock mpi(&MpiLock());
      MPI_Info info = MPI_INFO_NULL;
      if (!hostfile.empty()) {
        MPI_Info_create(&info);
        MPI_Info_set(info, "hostfile", hostfile.c_str());
      }
      MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
      result = MPI_Comm_spawn(binary.c_str(), argv.data(), n, info, 0, MPI_COMM_SELF, &spawned,
                              errcodes.data());
      if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    }
    absl::MutexLock lock(&mu);
    rc = result;
    comm = spawned;
    done = true;
  }
};

std::string SelfPath() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string();
}

std::string ThisHost() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

[[noreturn]] void SpawnFailed(const std::string& why) {
  throw BrokenProcessPool(absl::StrCat("cf::MpiPoolExecutor could not spawn its workers: ", why));
}

}  // namespace

void MpiCore::SpawnWorkers() {
  const int n = config_.max_workers;
  // A singleton (not started by mpirun) running as root: Open MPI refuses to spawn unless told,
  // and mpi4py was seen to hang after that refusal. Say so instead.
  if (geteuid() == 0 && std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr &&
      (std::getenv("OMPI_ALLOW_RUN_AS_ROOT") == nullptr ||
       std::getenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM") == nullptr)) {
    SpawnFailed(
        "this program runs as root outside mpirun, and Open MPI spawns as root only with "
        "OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment "
        "(docs/mpi.md)");
  }
  const std::string binary = config_.worker_binary.empty() ? SelfPath() : config_.worker_binary;
  auto call = std::make_shared<SpawnCall>();
  call->binary = binary;
  call->args = config_.worker_args;
  call->hostfile = config_.hostfile;
  call->n = n;
  std::thread spawner([call] { call->Run(); });
  int rc;
  {
    absl::MutexLock lock(&call->mu);
    if (!call->mu.AwaitWithTimeout(absl::Condition(&call->done), kSpawnTimeout)) {
      MarkMpiWedged();  // and no MPI_Finalize at exit: it would wait on the stuck spawn
      spawner.detach();
      SpawnFailed(absl::StrCat(
          "MPI_Comm_spawn of ", n, " x ", binary, " did not return within ",
          absl::FormatDuration(kSpawnTimeout),
          " (Open MPI 4.1 with PMIx 4 hangs there now and then, its new processes stuck in "
          "MPI_Init; Open MPI cannot be used in this process any more: restart the program, or "
          "use mpirun and MpiWorkers::kWorld, which spawns nothing)"));
    }
    rc = call->rc;
    comm_ = call->comm;
  }
  spawner.join();
  absl::MutexLock mpi(&MpiLock());
  if (rc != MPI_SUCCESS) {
    SpawnFailed(absl::StrCat(n, " x ", binary, ": ", MpiErrorText(rc),
                             " (on a host with fewer cores than processes, Open MPI needs "
                             "OMPI_MCA_rmaps_base_oversubscribe=1)"));
  }
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  const std::string here = ThisHost();
  workers_.resize(static_cast<size_t>(n));
  const absl::Time deadline = absl::Now() + kHelloTimeout;
  for (int said = 0; said < n;) {
    int flag = 0;
    MPI_Status probed;
    MPI_Iprobe(MPI_ANY_SOURCE, kReplyTag, comm_, &flag, &probed);
    if (!flag) {
      if (absl::Now() > deadline) {
        SpawnFailed(absl::StrCat(n - said, " of ", n, " workers did not say hello within ",
                                 absl::FormatDuration(kHelloTimeout),
                                 " (does the worker program call cf::InitMpiPool first?)"));
      }
      absl::SleepFor(absl::Microseconds(200));
      continue;
    }
    FrameHeader header;
    absl::Span<const char> payload;
    const absl::Status s = ReceiveMpiFrame(comm_, probed, &message_, &header, &payload);
    if (!s.ok() || header.kind != FrameKind::kHello || probed.MPI_SOURCE >= n) {
      SpawnFailed(absl::StrCat("worker rank ", probed.MPI_SOURCE, " sent no proper hello (",
                               s.ok() ? FrameKindName(header.kind) : s.message(), ")"));
    }
    Worker& w = workers_[static_cast<size_t>(probed.MPI_SOURCE)];
    w.info = {.rank = probed.MPI_SOURCE, .pid = static_cast<pid_t>(header.task_id),
              .host = std::string(payload.data(), payload.size())};
    w.local_host = w.info.host == here;
    ++said;
  }
}

void MpiCore::Watch() {
  BlockSigpipeInThisThread();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](MpiCore* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return c->releasing_workers_ || c->broken_;
                               },
                               this),
                           kLivenessPeriod);
      if (releasing_workers_ || broken_) return;
    }
    for (const Worker& w : workers_) {
      if (!w.local_host || w.info.pid <= 0) continue;
      if (kill(w.info.pid, 0) == 0 || errno != ESRCH) continue;
      MarkMpiDamaged();
      std::vector<Delivery> deliveries;
      Break(absl::StrCat("MPI worker rank ", w.info.rank, ", pid ", w.info.pid, " on ",
                         w.info.host, ", ended; Open MPI ends the other spawned workers with it"),
            deliveries);
      for (Delivery& d : deliveries) d.Run();
      return;
    }
  }
}

void MpiCore::StopSpawnedWorkers() {
  if (comm_ == MPI_COMM_NULL) return;
  // A broken pool's workers are gone, and MPI calls towards them may never return: leave the
  // communicator and the unfinished sends as they are (the process ends without
  // MPI_Finalize, see MarkMpiDamaged).
  bool workers_gone;
  {
    absl::MutexLock lock(&mu_);
    workers_gone = broken_ && !workers_intact_;
  }
  if (workers_gone) {
    static auto* parked = new std::vector<ByteBuffer>();  // MPI may still read them
    for (Send& send : sends_) parked->push_back(std::move(send.bytes));
    sends_.clear();
    return;
  }
  ByteBuffer scratch;
  for (const Worker& w : workers_) {
    SendMpiFrame(comm_, w.info.rank, kCallTag, FrameKind::kShutdown, 0, {}, &scratch)
        .IgnoreError();
  }
  for (Send& send : sends_) MPI_Wait(&send.request, MPI_STATUS_IGNORE);
  sends_.clear();
  MPI_Comm_disconnect(&comm_);
  comm_ = MPI_COMM_NULL;
}

}  // namespace cf::internal
