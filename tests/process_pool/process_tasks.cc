#include "tests/process_pool/process_tasks.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/task.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/socket_gate.h"

namespace cf::testing {
namespace {

std::string& InitStatus() {
  static std::string* status = new std::string("uninitialized");
  return *status;
}

struct UnregisteredError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Segfault() { DieOfSegfault(); }

}  // namespace

int GetPid() { return getpid(); }
int GetPidAfterGate(int64_t gate, int unused) {
  SocketGate::Pass(gate, unused);
  return getpid();
}
int CrashWithSegfault(int) { Segfault(); }
int ExitWithCode(int code) { ExitLikeATask(code); }
int Abort(int) { std::abort(); }
int CrashAfterGate(int64_t gate) {
  SocketGate::Pass(gate, 0);
  Segfault();
}
int CrashWithData(std::string) { Segfault(); }
std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> data) { return data; }
void SetInitStatus(std::string status) { InitStatus() = std::move(status); }
std::string GetInitStatus() { return InitStatus(); }
void FailingInitializer(std::string message) { throw std::invalid_argument(message); }
int ThrowOutOfRange(std::string message) { throw std::out_of_range(message); }
int ThrowUnregisteredType(std::string message) { throw UnregisteredError(message); }
int ThrowInt(int value) { throw value; }
Hostile PassHostile(Hostile, int result_on_save, int result_on_load) {
  return Hostile{result_on_save, result_on_load};
}
int NotRegistered(int x) { return x; }
int WaitForFile(std::string path, int value) {
  for (int i = 0; i < 12000; ++i) {
    if (access(path.c_str(), F_OK) == 0) return value;
    usleep(5000);
  }
  throw std::runtime_error("WaitForFile: " + path + " did not appear within 60 s");
}
int DeepDepth(Deep value) { return value.depth; }
Deep MakeDeep(int depth) { return Deep{depth}; }
std::vector<std::uint8_t> MakeBytes(std::int64_t n) {
  return std::vector<std::uint8_t>(static_cast<size_t>(n), 7);
}
std::int64_t SumOf(const std::vector<std::uint8_t>& data) {
  std::int64_t sum = 0;
  for (std::uint8_t b : data) sum += b;
  return sum;
}
std::int64_t SumBytes(std::vector<std::uint8_t> data) { return SumOf(data); }
std::vector<std::uint8_t> PatternBytes(std::size_t n, int seed) {
  std::vector<std::uint8_t> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return data;
}
std::int64_t KillWorkerOnceThenSum(std::string path, std::vector<std::uint8_t> data) {
  KillWorkerOnce(path, 0);
  return SumBytes(std::move(data));
}
std::int64_t SleepThenSum(int ms, std::vector<std::uint8_t> data) {
  SleepMs(ms);
  return SumBytes(std::move(data));
}
void MarkedBytes::CreateMark(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}
MarkedBytes IgnoreSigtermThenEcho(std::string release, std::string mark,
                                  std::vector<std::uint8_t> data) {
  signal(SIGTERM, SIG_IGN);
  WaitForFile(release, 0);
  return MarkedBytes{std::move(data), std::move(mark)};
}
int KillParentProcess(int unused) {
  kill(getppid(), SIGKILL);
  for (int i = 0; i < 600; ++i) usleep(100'000);
  return unused;
}
std::int64_t SumInAForkPool(std::vector<std::uint8_t> data) {
  ProcessPoolExecutor::Options options;
  options.max_workers = 1;
  options.start_method = StartMethod::kFork;
  ProcessPoolExecutor pool(options);
  return pool.Submit(&SumBytes, std::move(data)).Result(absl::Seconds(60));
}
std::vector<std::string> MakeStrings(std::int64_t count, std::int64_t length) {
  std::vector<std::string> strings;
  strings.reserve(static_cast<size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    strings.emplace_back(static_cast<size_t>(length), static_cast<char>('a' + i % 26));
  }
  return strings;
}

}  // namespace cf::testing

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer's hook: a worker that exit()s in the middle of a task on purpose is not checked
// for leaks (everything it held is still in use when it stops).
extern "C" int __lsan_is_turned_off() { return cf::testing::exiting_like_a_task ? 1 : 0; }
#endif

namespace cf::testing {

int HangForever(int unused) {
  for (;;) pause();
  return unused;
}

int IgnoreSigtermAndHang(int unused) {
  signal(SIGTERM, SIG_IGN);
  return HangForever(unused);
}

int ForkChildAndHang(std::string path) {
  const pid_t child = fork();
  if (child == 0) {
    signal(SIGTERM, SIG_IGN);
    for (;;) pause();
  }
  if (child < 0) throw std::runtime_error("fork failed");
  const std::string text = std::to_string(child);
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + tmp);
  std::fputs(text.c_str(), f);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
  return HangForever(0);
}

int SleepMs(int ms) {
  usleep(static_cast<useconds_t>(ms) * 1000);
  return ms;
}

int KillOwnWorker(int unused) {
  kill(getpid(), SIGKILL);
  return unused;
}

int CloseEveryDescriptor(int value) {
  close_range(3, ~0U, 0);
  return value;
}
int CloseStandardStreams(int value) {
  close(0);
  close(1);
  close(2);
  return value;
}
int LowerDescriptorLimit(int value) {
  int highest = 2;
  for (int fd = 3; fd < 4096; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) highest = fd;
  }
  const rlimit limit{static_cast<rlim_t>(highest + 1), static_cast<rlim_t>(highest + 1)};
  setrlimit(RLIMIT_NOFILE, &limit);
  return value;
}
int StartNewSession(int value) {
  setsid();
  return value;
}
int BlockEverySignal(int value) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  return value;
}
int LeaveAThreadRunning(int value) {
  std::thread([] {
    volatile std::uint64_t spins = 0;
    while (true) spins = spins + 1;
  }).detach();
  return value;
}

int ForkAndReturnInBoth(int value) {
  fork();
  return value;
}

int KillWorkerOnce(std::string path, int value) {
  const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    kill(getpid(), SIGKILL);
  }
  return value;
}

int KillWorkerOnSeven(int x) {
  if (x == 7) kill(getpid(), SIGKILL);
  return x * 10;
}

}  // namespace cf::testing

// The executor behaviour suite's tasks.
CF_TASK(cf::testing::Pow);
CF_TASK(cf::testing::Mul);
CF_TASK(cf::testing::Add);
CF_TASK(cf::testing::Abs);
CF_TASK(cf::testing::Identity);
CF_TASK(cf::testing::ToString);
CF_TASK(cf::testing::DivMod);
CF_TASK(cf::testing::ThrowRuntimeError);
CF_TASK(cf::testing::SocketGate::Pass);
// This file's.
CF_TASK(cf::testing::GetPid);
CF_TASK(cf::testing::GetPidAfterGate);
CF_TASK(cf::testing::CrashWithSegfault);
CF_TASK(cf::testing::ExitWithCode);
CF_TASK(cf::testing::Abort);
CF_TASK(cf::testing::CrashAfterGate);
CF_TASK(cf::testing::CrashWithData);
CF_TASK(cf::testing::Echo);
CF_TASK(cf::testing::SetInitStatus);
CF_TASK(cf::testing::GetInitStatus);
CF_TASK(cf::testing::FailingInitializer);
CF_TASK(cf::testing::ThrowOutOfRange);
CF_TASK(cf::testing::ThrowUnregisteredType);
CF_TASK(cf::testing::ThrowInt);
CF_TASK(cf::testing::PassHostile);
CF_TASK(cf::testing::DeepDepth);
CF_TASK(cf::testing::MakeDeep);
CF_TASK(cf::testing::MakeBytes);
CF_TASK(cf::testing::MakeStrings);
CF_TASK(cf::testing::SumBytes);
CF_TASK(cf::testing::KillWorkerOnceThenSum);
CF_TASK(cf::testing::SleepThenSum);
CF_TASK(cf::testing::SumInAForkPool);
CF_TASK(cf::testing::IgnoreSigtermThenEcho);
CF_TASK(cf::testing::WaitForFile);
CF_TASK(cf::testing::HangForever);
CF_TASK(cf::testing::IgnoreSigtermAndHang);
CF_TASK(cf::testing::ForkChildAndHang);
CF_TASK(cf::testing::SleepMs);
CF_TASK(cf::testing::KillOwnWorker);
CF_TASK(cf::testing::CloseEveryDescriptor);
CF_TASK(cf::testing::CloseStandardStreams);
CF_TASK(cf::testing::LowerDescriptorLimit);
CF_TASK(cf::testing::StartNewSession);
CF_TASK(cf::testing::BlockEverySignal);
CF_TASK(cf::testing::LeaveAThreadRunning);
CF_TASK(cf::testing::ForkAndReturnInBoth);
CF_TASK(cf::testing::KillParentProcess);
CF_TASK(cf::testing::KillWorkerOnce);
CF_TASK(cf::testing::KillWorkerOnSeven);
