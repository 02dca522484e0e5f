#include "cf/process_pool/internal/pool_core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/worker_loop.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

constexpr size_t kStagingSize = 64 * 1024;
constexpr size_t kMaxSparePayload = 64 << 20;
constexpr size_t kSpliceThreshold = 256 << 10;  // payloads at least this big are vmsplice()d
constexpr char kBrokenFuture[] =
    "A process in the process pool was terminated abruptly while the future was running or "
    "pending.";
constexpr char kBrokenPool[] =
    "A child process terminated abruptly, the process pool is not usable anymore";

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Consumes a SIGPIPE that a write to a dead worker raised in this thread (it is blocked here).
void ConsumeSigpipe() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  timespec zero{0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
  }
}

std::string MissingInitHint(const PoolConfig& config) {
  return absl::StrCat(
      "the worker program (", config.worker_binary.empty() ? "this program" : config.worker_binary,
      ") must call cf::InitProcessPool(argc, argv) first thing in main() for StartMethod::",
      config.start_method == StartMethod::kSpawn ? "kSpawn" : "kForkServer",
      "; or use StartMethod::kFork");
}

}  // namespace

struct PoolCore::Worker {
  struct Out {
    char header[kFrameHeaderSize];
    absl::Span<const char> payload;
    size_t written = 0;  // of header + payload
  };

  WorkerProcess proc;
  FrameDecoder decoder;
  std::unique_ptr<char[]> staging = std::make_unique<char[]>(kStagingSize);
  size_t staged_begin = 0;
  size_t staged_end = 0;
  std::deque<Out> out;
  std::deque<std::pair<std::uint64_t, std::unique_ptr<PoolTask>>> in_flight;
  absl::Time start_deadline;
  int handed = 0;          // calls handed to it (max_tasks_per_child)
  bool hello = false;      // it said hello: the program started properly
  bool retiring = false;   // kShutdown queued: no more calls
  bool goodbye = false;    // it announced a planned exit
  bool eof = false;        // its result pipe closed
  bool exited = false;     // its pidfd fired
  std::string init_error;  // what the initializer threw, if it did
};

struct PoolCore::Delivery {
  std::unique_ptr<PoolTask> task;
  Frame frame;                  // kResult or kException from the worker
  std::exception_ptr error;     // or this, when set
  void Run() {
    if (error != nullptr) {
      task->Fail(error);
    } else if (frame.kind == FrameKind::kResult) {
      task->Succeed(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()));
    } else {
      absl::StatusOr<std::exception_ptr> e =
          DecodeException(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()));
      task->Fail(e.ok() ? *e
                        : std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
                              "the exception of task '", task->call().task_name(),
                              "' could not be decoded: ", e.status().message()))));
    }
    task.reset();
  }
};

PoolCore::PoolCore(PoolConfig config) : config_(std::move(config)) {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cf process pool: eventfd");
  wakeup_ = UniqueFd(fd);
}

PoolCore::~PoolCore() {
  Shutdown(/*wait=*/true, /*cancel_futures=*/false);
  std::thread manager;
  {
    absl::MutexLock lock(&mu_);
    manager = std::move(manager_);
  }
  if (manager.joinable()) {
    if (manager.get_id() == std::this_thread::get_id()) {
      manager.detach();  // destroyed from one of its own callbacks: it ends by itself
    } else {
      manager.join();
    }
  }
}

void PoolCore::Submit(std::unique_ptr<PoolTask> task) {
  absl::MutexLock lock(&mu_);
  if (!broken_.empty()) throw BrokenProcessPool(absl::StrCat(kBrokenPool, " (", broken_, ")"));
  if (shutdown_) throw ShutdownError();
  pending_.push_back(std::move(task));
  EnsureManagerLocked();
  Wake();
}

void PoolCore::EnsureManagerLocked() {
  if (manager_.joinable() || manager_done_) return;
  manager_ = std::thread([this] { Run(); });
  manager_id_ = manager_.get_id();
}

void PoolCore::Wake() {
  if (wake_pending_) return;
  wake_pending_ = true;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(wakeup_.get(), &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
}

void PoolCore::Shutdown(bool wait, bool cancel_futures) {
  std::deque<std::unique_ptr<PoolTask>> cancelled;
  bool join = false;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) {
      for (auto& task : pending_) task->Cancel();
      cancelled.swap(pending_);
    }
    if (manager_.joinable()) {
      Wake();
      join = wait && manager_id_ != std::this_thread::get_id();
    }
  }
  cancelled.clear();  // outside the lock: destroying a task may run callbacks
  if (!join) return;
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&manager_done_));
}

void PoolCore::SignalWorkers(int sig) {
  Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  absl::MutexLock lock(&mu_);
  for (const auto& [pid, pidfd] : live_) PidfdSendSignal(pidfd, sig);
}

std::vector<pid_t> PoolCore::worker_pids() const {
  absl::MutexLock lock(&mu_);
  std::vector<pid_t> pids;
  for (const auto& [pid, pidfd] : live_) pids.push_back(pid);
  return pids;
}

bool PoolCore::AwaitSettledForTesting(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !broken_.empty() || pending_.empty() ||
           static_cast<int>(live_.size()) >= config_.max_workers;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
}

bool PoolCore::AwaitLiveWorkersForTesting(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto alive = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(live_.size()) == n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&alive), timeout);
}

bool PoolCore::HasWorkLocked() const {
  if (!pending_.empty()) return true;
  for (const auto& w : workers_) {
    if (!w->in_flight.empty()) return true;
  }
  return false;
}

void PoolCore::Run() {
  // Writes to a dead worker must fail with EPIPE, not kill the process.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  std::vector<Delivery> deliveries;
  std::vector<pollfd> fds;
  for (;;) {
    Dispatch();
    bool start_worker = false;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      if (broken_local_) {
        stop = true;
      } else if (!pending_.empty()) {
        bool idle = false;
        for (const auto& w : workers_) idle = idle || (!w->retiring && w->in_flight.empty());
        start_worker = !idle && static_cast<int>(workers_.size()) < config_.max_workers;
      } else if (shutdown_ && !HasWorkLocked()) {
        if (workers_.empty()) stop = true;
      }
    }
    if (!deliveries.empty()) {
      for (Delivery& d : deliveries) {
        d.Run();
        // Keep one big payload buffer for the next frame (bounded, so one huge result does not
        // pin its memory for the pool's lifetime).
        const size_t capacity = d.frame.payload.capacity();
        if (capacity > spare_payload_.capacity() && capacity <= kMaxSparePayload) {
          spare_payload_ = std::move(d.frame.payload);
        }
      }
      deliveries.clear();
      continue;  // callbacks may have submitted more work
    }
    if (stop) break;
    if (start_worker) {
      StartWorker();
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_ && !HasWorkLocked()) {
        for (auto& w : workers_) {
          if (!w->retiring && !w->eof) {
            w->retiring = true;
            QueueFrame(*w, FrameKind::kShutdown, 0, {});
          }
        }
      }
    }

    // Poll: the wakeup, every worker's pipes and pidfd, the fork server.
    fds.clear();
    fds.push_back({wakeup_.get(), POLLIN, 0});
    absl::Time deadline = absl::InfiniteFuture();
    for (auto& w : workers_) {
      if (!w->out.empty()) FlushOutput(*w);
      fds.push_back({w->eof ? -1 : w->proc.from_worker.get(), POLLIN, 0});
      fds.push_back({w->out.empty() ? -1 : w->proc.to_worker.get(), POLLOUT, 0});
      fds.push_back({w->exited ? -1 : w->proc.pidfd.get(), POLLIN, 0});
      if (!w->hello) deadline = std::min(deadline, w->start_deadline);
    }
    const int server_index = static_cast<int>(fds.size());
    if (fork_server_ != nullptr) fds.push_back({fork_server_->control_fd(), POLLIN, 0});
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1));
    }
    const int rc = poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) {
      Break(absl::StrCat("poll failed: ", strerror(errno)), deliveries);
      continue;
    }
    if (fds[0].revents != 0) {
      uint64_t count;
      while (read(wakeup_.get(), &count, sizeof(count)) > 0) {
      }
      absl::MutexLock lock(&mu_);
      wake_pending_ = false;
    }
    if (fork_server_ != nullptr && fds[server_index].revents != 0) {
      if (absl::Status s = fork_server_->Poll(); !s.ok()) {
        Break(absl::StrCat("the fork server (pid ", fork_server_->pid(), ") died: ", s.message()),
              deliveries);
        continue;
      }
    }
    const absl::Time now = absl::Now();
    for (size_t i = 0; i < workers_.size() && !broken_local_; ++i) {
      Worker& w = *workers_[i];
      const pollfd& in = fds[1 + 3 * i];
      const pollfd& out = fds[2 + 3 * i];
      const pollfd& pid = fds[3 + 3 * i];
      if (in.revents != 0) ReadInput(w, deliveries);
      if (broken_local_) break;
      if (out.revents != 0) FlushOutput(w);
      if (pid.revents != 0) w.exited = true;
      if (!w.hello && !w.exited && now >= w.start_deadline) {
        PidfdSendSignal(w.proc.pidfd.get(), SIGKILL);
        Break(absl::StrCat("worker ", w.proc.pid, " did not start within ",
                           absl::FormatDuration(config_.start_timeout), ": ",
                           MissingInitHint(config_)),
              deliveries);
        break;
      }
    }
    // Exits last, after every byte the dead worker wrote was read.
    for (size_t i = 0; i < workers_.size() && !broken_local_;) {
      Worker& w = *workers_[i];
      if (w.exited) {
        if (!w.eof) ReadInput(w, deliveries);
        if (broken_local_) break;
        const size_t before = workers_.size();
        HandleExit(w, deliveries);
        if (workers_.size() < before) continue;  // removed: same index is the next worker
      }
      ++i;
    }
  }

  StopWorkers();
  fork_server_.reset();
  absl::MutexLock lock(&mu_);
  manager_done_ = true;
}

void PoolCore::StartWorker() {
  absl::StatusOr<WorkerProcess> proc;
  switch (config_.start_method) {
    case StartMethod::kSpawn:
      proc = SpawnWorker(config_.worker_binary);
      break;
    case StartMethod::kForkServer:
      if (fork_server_ == nullptr) {
        absl::StatusOr<std::unique_ptr<ForkServer>> server =
            ForkServer::Start(config_.worker_binary, config_.start_timeout);
        if (!server.ok()) {
          proc = server.status();
          break;
        }
        fork_server_ = *std::move(server);
      }
      proc = fork_server_->Fork();
      break;
    case StartMethod::kFork:
    case StartMethod::kAuto:
      proc = ForkWorker(&RunWorker);
      break;
  }
  std::vector<Delivery> deliveries;
  if (!proc.ok()) {
    std::string detail = absl::StrCat("could not start a worker: ", proc.status().message());
    // A fork server that started but exited or stayed silent: the usual cause is a main()
    // without cf::InitProcessPool. (A program that cannot be executed at all says so itself.)
    const absl::StatusCode code = proc.status().code();
    if (code == absl::StatusCode::kFailedPrecondition ||
        code == absl::StatusCode::kDeadlineExceeded) {
      absl::StrAppend(&detail, "; ", MissingInitHint(config_));
    }
    Break(detail, deliveries);
    for (Delivery& d : deliveries) d.Run();
    return;
  }
  auto w = std::make_unique<Worker>();
  w->proc = *std::move(proc);
  SetNonBlocking(w->proc.to_worker.get());
  SetNonBlocking(w->proc.from_worker.get());
  EnlargePipeBuffer(w->proc.to_worker.get()).IgnoreError();
  w->start_deadline = absl::Now() + config_.start_timeout;
  if (config_.initializer) QueueFrame(*w, FrameKind::kInitialize, 0, config_.initializer.payload());
  {
    absl::MutexLock lock(&mu_);
    live_.emplace_back(w->proc.pid, w->proc.pidfd.get());
  }
  workers_.push_back(std::move(w));
}

void PoolCore::Dispatch() {
  for (;;) {
    // Choose a worker: an idle one; else, with max_workers running, the least loaded one whose
    // window has room.
    Worker* target = nullptr;
    for (auto& w : workers_) {
      if (!w->retiring && !w->eof && w->in_flight.empty()) {
        if (target == nullptr || (w->hello && !target->hello)) target = w.get();
      }
    }
    if (target == nullptr && static_cast<int>(workers_.size()) >= config_.max_workers) {
      for (auto& w : workers_) {
        if (w->retiring || w->eof || static_cast<int>(w->in_flight.size()) >= kWindow) continue;
        if (target == nullptr || w->in_flight.size() < target->in_flight.size()) target = w.get();
      }
    }
    if (target == nullptr) return;
    std::unique_ptr<PoolTask> task;
    {
      absl::MutexLock lock(&mu_);
      if (pending_.empty() || broken_local_) return;
      task = std::move(pending_.front());
      pending_.pop_front();
    }
    if (!task->Start()) continue;  // cancelled while queued: dropped
    const std::uint64_t id = next_task_id_++;
    const absl::Span<const char> payload = task->call().payload();
    target->in_flight.emplace_back(id, std::move(task));
    QueueFrame(*target, FrameKind::kCall, id, payload);
    if (config_.max_tasks_per_child > 0 && ++target->handed >= config_.max_tasks_per_child) {
      target->retiring = true;
      QueueFrame(*target, FrameKind::kShutdown, 0, {});
    }
    FlushOutput(*target);
  }
}

void PoolCore::QueueFrame(Worker& w, FrameKind kind, std::uint64_t id,
                          absl::Span<const char> payload) {
  Worker::Out& out = w.out.emplace_back();
  EncodeFrameHeader(FrameHeader{kind, id, payload.size()}, out.header);
  out.payload = payload;
}

void PoolCore::FlushOutput(Worker& w) {
  while (!w.out.empty() && !w.eof) {
    // A big payload whose header is out goes by vmsplice: the pipe references its pages instead
    // of copying them. Safe: the payload belongs to an in-flight task, which stays alive (and
    // unchanged) until the worker has read the whole call and replied.
    Worker::Out& first = w.out.front();
    if (first.written >= kFrameHeaderSize &&
        first.payload.size() - (first.written - kFrameHeaderSize) >= kSpliceThreshold) {
      const size_t offset = first.written - kFrameHeaderSize;
      iovec iov{const_cast<char*>(first.payload.data()) + offset, first.payload.size() - offset};
      const ssize_t n = vmsplice(w.proc.to_worker.get(), &iov, 1, SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        ConsumeSigpipe();
        w.out.clear();
        return;
      }
      first.written += static_cast<size_t>(n);
      if (first.written == kFrameHeaderSize + first.payload.size()) w.out.pop_front();
      continue;
    }
    iovec iov[64];
    int n = 0;
    for (auto it = w.out.begin(); it != w.out.end() && n < 62; ++it) {
      size_t skip = it->written;
      if (skip < kFrameHeaderSize) {
        iov[n++] = {it->header + skip, kFrameHeaderSize - skip};
        skip = 0;
      } else {
        skip -= kFrameHeaderSize;
      }
      if (it->payload.size() - skip >= kSpliceThreshold) break;  // header now, payload spliced
      if (it->payload.size() > skip) {
        iov[n++] = {const_cast<char*>(it->payload.data()) + skip, it->payload.size() - skip};
      }
    }
    const ssize_t written = writev(w.proc.to_worker.get(), iov, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // EPIPE and friends: the worker is gone; its exit is handled when its pidfd fires.
      ConsumeSigpipe();
      w.out.clear();
      return;
    }
    size_t left = static_cast<size_t>(written);
    while (left > 0) {
      Worker::Out& front = w.out.front();
      const size_t total = kFrameHeaderSize + front.payload.size();
      const size_t take = std::min(left, total - front.written);
      front.written += take;
      left -= take;
      if (front.written == total) w.out.pop_front();
    }
  }
}

void PoolCore::ReadInput(Worker& w, std::vector<Delivery>& deliveries) {
  if (w.decoder.AtFrameBoundary() && spare_payload_.capacity() > 0) {
    w.decoder.RecycleBuffer(std::move(spare_payload_));
    spare_payload_ = ByteBuffer();
  }
  // Set when a read returned less than asked: poll() tells when there is more (saves the
  // read() that would only say EAGAIN).
  bool drained = false;
  for (;;) {
    while (w.staged_begin < w.staged_end) {
      absl::StatusOr<size_t> taken = w.decoder.Append(
          absl::MakeConstSpan(w.staging.get() + w.staged_begin, w.staged_end - w.staged_begin));
      if (!taken.ok()) {
        Break(absl::StrCat("worker ", w.proc.pid, " sent a malformed stream: ",
                           taken.status().message()),
              deliveries);
        return;
      }
      w.staged_begin += *taken;
      if (w.decoder.frame_ready()) {
        Frame frame = w.decoder.TakeFrame();
        HandleFrame(w, frame, deliveries);
        if (broken_local_) return;
      }
    }
    if (w.eof) return;
    absl::Span<char> want = w.decoder.WritableSpan();
    ssize_t n;
    if (want.size() >= kStagingSize) {
      n = read(w.proc.from_worker.get(), want.data(), want.size());
      if (n > 0) {
        if (absl::Status s = w.decoder.Commit(static_cast<size_t>(n)); !s.ok()) {
          Break(absl::StrCat("worker ", w.proc.pid, " sent a malformed stream: ", s.message()),
                deliveries);
          return;
        }
        if (w.decoder.frame_ready()) {
          Frame frame = w.decoder.TakeFrame();
          HandleFrame(w, frame, deliveries);
          if (broken_local_) return;
        }
        continue;
      }
    } else {
      if (drained) return;  // the last read came back short: the pipe is empty for now
      n = read(w.proc.from_worker.get(), w.staging.get(), kStagingSize);
      if (n > 0) {
        w.staged_begin = 0;
        w.staged_end = static_cast<size_t>(n);
        drained = static_cast<size_t>(n) < kStagingSize;
        continue;
      }
    }
    if (n == 0) {
      w.eof = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) w.eof = true;
    return;
  }
}

void PoolCore::HandleFrame(Worker& w, Frame& frame, std::vector<Delivery>& deliveries) {
  switch (frame.kind) {
    case FrameKind::kHello:
      w.hello = true;
      return;
    case FrameKind::kGoodbye:
      w.goodbye = true;
      return;
    case FrameKind::kResult:
    case FrameKind::kException:
      if (frame.task_id == 0 && frame.kind == FrameKind::kException) {
        absl::StatusOr<ExceptionInfo> info =
            DecodeExceptionInfo(absl::MakeConstSpan(frame.payload.data(), frame.payload.size()));
        w.init_error = info.ok() ? absl::StrCat(info->type_name, ": ", info->message)
                                 : std::string(info.status().message());
        return;
      }
      if (w.in_flight.empty() || w.in_flight.front().first != frame.task_id) {
        Break(absl::StrCat("worker ", w.proc.pid, " answered call ", frame.task_id,
                           " which it was not running"),
              deliveries);
        return;
      }
      deliveries.push_back(Delivery{std::move(w.in_flight.front().second), std::move(frame),
                                    nullptr});
      w.in_flight.pop_front();
      return;
    default:
      Break(absl::StrCat("worker ", w.proc.pid, " sent an unexpected ",
                         FrameKindName(frame.kind), " frame"),
            deliveries);
  }
}

int PoolCore::WaitStatusOf(Worker& w, absl::Duration timeout) {
  absl::StatusOr<int> status = w.proc.is_child
                                   ? ReapChild(w.proc, timeout)
                                   : fork_server_ != nullptr
                                         ? fork_server_->WorkerExitStatus(w.proc.pid, timeout)
                                         : absl::StatusOr<int>(absl::UnavailableError("no server"));
  return status.ok() ? *status : -1;
}

void PoolCore::HandleExit(Worker& w, std::vector<Delivery>& deliveries) {
  const int status = WaitStatusOf(w, absl::Milliseconds(100));
  const std::string how = status >= 0 ? DescribeWaitStatus(status) : "an unknown status";
  const size_t index = static_cast<size_t>(
      std::find_if(workers_.begin(), workers_.end(),
                   [&](const std::unique_ptr<Worker>& p) { return p.get() == &w; }) -
      workers_.begin());
  if (!w.init_error.empty()) {
    Break(absl::StrCat("the initializer failed in worker ", w.proc.pid, ": ", w.init_error),
          deliveries);
    return;
  }
  if (!w.hello) {
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == kMissingInitExitCode) {
      Break(absl::StrCat("worker ", w.proc.pid, " exited with ", how,
                         " because it reached a ProcessPoolExecutor instead of running as a "
                         "worker: ",
                         MissingInitHint(config_)),
            deliveries);
    } else {
      Break(absl::StrCat("worker ", w.proc.pid, " exited with ", how, " before it started",
                         config_.start_method == StartMethod::kFork
                             ? std::string()
                             : absl::StrCat("; ", MissingInitHint(config_))),
            deliveries);
    }
    return;
  }
  bool has_work;
  {
    absl::MutexLock lock(&mu_);
    has_work = HasWorkLocked();
  }
  const bool planned = w.goodbye && w.in_flight.empty();
  if (!planned && has_work) {
    Break(absl::StrCat("worker ", w.proc.pid, " died with ", how), deliveries);
    return;
  }
  RemoveWorker(index);
}

void PoolCore::RemoveWorker(size_t index) {
  std::unique_ptr<Worker> w = std::move(workers_[index]);
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
  {
    absl::MutexLock lock(&mu_);
    std::erase_if(live_, [&](const std::pair<pid_t, int>& p) { return p.first == w->proc.pid; });
  }
  if (!w->exited) PidfdSendSignal(w->proc.pidfd.get(), SIGKILL);
  if (w->proc.is_child) ReapChild(w->proc, absl::InfiniteDuration()).IgnoreError();
}

void PoolCore::Break(const std::string& detail, std::vector<Delivery>& deliveries) {
  broken_local_ = true;
  std::deque<std::unique_ptr<PoolTask>> pending;
  {
    absl::MutexLock lock(&mu_);
    if (broken_.empty()) broken_ = detail;
    pending.swap(pending_);
  }
  const std::string message = absl::StrCat(kBrokenFuture, " (", detail, ")");
  for (auto& w : workers_) {
    w->out.clear();  // before the tasks whose payloads they point at go
    for (auto& [id, task] : w->in_flight) {
      deliveries.push_back(
          Delivery{std::move(task), Frame(), std::make_exception_ptr(BrokenProcessPool(message))});
    }
    w->in_flight.clear();
  }
  for (auto& task : pending) {
    deliveries.push_back(
        Delivery{std::move(task), Frame(), std::make_exception_ptr(BrokenProcessPool(message))});
  }
  StopWorkers();
}

void PoolCore::StopWorkers() {
  for (auto& w : workers_) {
    if (!w->exited) PidfdSendSignal(w->proc.pidfd.get(), SIGKILL);
  }
  while (!workers_.empty()) RemoveWorker(workers_.size() - 1);
}

}  // namespace cf::internal
