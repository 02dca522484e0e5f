// The spare fork server that cf::InitProcessPool starts (spare_fork_server.h): the first
// kForkServer pool takes it, exactly one pool does, a dead or silent spare still gives a working
// pool or a clear error, a changed process or a fork() child never uses it, it is reaped, and
// CF_PROCESS_POOL_PRESTART=0 turns it off. Each test starts a spare of its own (the fixture); a
// worker's parent is its fork server, which tells which server a pool uses.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/spare_fork_server.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf::testing {

int ParentPid() { return getppid(); }

}  // namespace cf::testing

CF_TASK(cf::testing::ParentPid);

namespace cf::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kBound = absl::Seconds(60);
constexpr char kPrintSpareFlag[] = "--print_spare_and_exit";
// ThreadSanitizer does not support threads started in a fork() child (a pool's manager).
#if defined(__SANITIZE_THREAD__)
constexpr bool kPoolsInForkedChildren = false;
#else
constexpr bool kPoolsInForkedChildren = true;
#endif

internal::SpareForkServerForTesting Spare() { return internal::GetSpareForkServerForTesting(); }

std::unique_ptr<ProcessPoolExecutor> ForkServerPool(int workers, std::string binary = "") {
  return std::make_unique<ProcessPoolExecutor>(
      ProcessPoolExecutor::Options{.max_workers = workers,
                                   .start_method = StartMethod::kForkServer,
                                   .worker_binary = std::move(binary)});
}

// The pid of the fork server that forked this pool's worker.
int ServerOf(ProcessPoolExecutor& pool) { return pool.Submit(&ParentPid).Result(kBound); }

int PidFd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Waits (bounded) until the process behind pidfd has exited, without reaping it.
bool AwaitExit(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kBound))) == 1;
}

// True once a child of ours has been reaped (by cf), not left a zombie or running.
bool Reaped(int pidfd) {
  siginfo_t info{};
  return waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                WEXITED | WNOHANG | WNOWAIT) < 0 &&
         errno == ECHILD;
}

std::string SelfPath() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  path[n] = '\0';
  return path;
}

// Runs this test binary as a plain program (main() below) that prints its spare's pid and
// exits; `env` is prefixed to the command. Returns the pid it printed (-1: none), or -2.
pid_t SpareOfAFreshProgram(const std::string& env) {
  const std::string command =
      absl::StrCat(env, " timeout -k 5 60 ", SelfPath(), " ", kPrintSpareFlag, " </dev/null");
  FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) return -2;
  char line[128];
  pid_t pid = -2;
  while (fgets(line, sizeof(line), out) != nullptr) {
    int value = 0;
    std::string text(line);
    if (text.rfind("spare=", 0) == 0 &&
        absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(text.substr(6)), &value)) {
      pid = value;
    }
  }
  return pclose(out) == 0 ? pid : -2;
}

class SpareForkServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    internal::ResetSpareForkServerForTesting();
    internal::PrestartForkServer();
    spare_ = Spare().pid;
    ASSERT_GT(spare_, 0) << "PrestartForkServer() started no spare";
    pidfd_ = PidFd(spare_);
    ASSERT_GE(pidfd_, 0);
  }
  void TearDown() override {
    internal::ResetSpareForkServerForTesting();
    if (pidfd_ >= 0) {
      EXPECT_TRUE(AwaitExit(pidfd_));
      EXPECT_TRUE(Reaped(pidfd_)) << "spare " << spare_ << " was left unreaped";
      close(pidfd_);
    }
  }

  pid_t spare_ = -1;
  int pidfd_ = -1;
};

TEST_F(SpareForkServerTest, TheFirstForkServerPoolTakesTheSpare) {
  ProcessPoolExecutor pool(2);  // kAuto: kForkServer, since main() called InitProcessPool
  ASSERT_EQ(pool.start_method(), StartMethod::kForkServer);
  EXPECT_EQ(ServerOf(pool), spare_);
  EXPECT_EQ(Spare().pid, -1) << "taken";
}

TEST_F(SpareForkServerTest, LaterPoolsStartTheirOwnServers) {
  auto first = ForkServerPool(1);
  EXPECT_EQ(ServerOf(*first), spare_);
  auto second = ForkServerPool(2);
  const int second_server = ServerOf(*second);
  EXPECT_NE(second_server, spare_);
  EXPECT_NE(second_server, getpid());
  first.reset();  // the spare, now the first pool's server, is reaped with it
  EXPECT_TRUE(AwaitExit(pidfd_));
  EXPECT_TRUE(Reaped(pidfd_));
  EXPECT_EQ(second->Submit(&ParentPid).Result(kBound), second_server);
  auto third = ForkServerPool(1);
  EXPECT_NE(ServerOf(*third), spare_);
}

TEST_F(SpareForkServerTest, ConcurrentPoolsTakeItOnce) {
  constexpr int kThreads = 4;
  absl::Notification go;
  std::vector<int> servers(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      go.WaitForNotificationWithTimeout(kBound);
      auto pool = ForkServerPool(1);
      servers[i] = ServerOf(*pool);
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::count(servers.begin(), servers.end(), spare_), 1);
  for (int server : servers) EXPECT_GT(server, 1);
}

TEST_F(SpareForkServerTest, OtherStartMethodsAndWorkerBinariesLeaveItAlone) {
  auto spawn = std::make_unique<ProcessPoolExecutor>(
      ProcessPoolExecutor::Options{.max_workers = 1, .start_method = StartMethod::kSpawn});
  EXPECT_EQ(ServerOf(*spawn), getpid());
  auto other_binary = ForkServerPool(1, SelfPath());  // the same program, named explicitly
  EXPECT_NE(ServerOf(*other_binary), spare_);
  EXPECT_EQ(Spare().pid, spare_) << "still there for a pool of this program";
  auto pool = ForkServerPool(1);
  EXPECT_EQ(ServerOf(*pool), spare_);
}

TEST_F(SpareForkServerTest, ASpareKilledEarlyGivesAWorkingPool) {
  ASSERT_EQ(kill(spare_, SIGKILL), 0);  // most likely before its hello: it just started
  ASSERT_TRUE(AwaitExit(pidfd_));
  auto pool = ForkServerPool(2);
  const int server = ServerOf(*pool);
  EXPECT_NE(server, spare_);
  EXPECT_NE(server, getpid());
  EXPECT_TRUE(Reaped(pidfd_)) << "the dead spare was not reaped";
}

TEST_F(SpareForkServerTest, ASpareKilledAfterItsHelloGivesAWorkingPool) {
  ASSERT_TRUE(internal::AwaitSpareHelloForTesting(kBound));
  ASSERT_EQ(kill(spare_, SIGKILL), 0);
  ASSERT_TRUE(AwaitExit(pidfd_));
  auto pool = ForkServerPool(2);
  EXPECT_NE(ServerOf(*pool), spare_);
  EXPECT_TRUE(Reaped(pidfd_)) << "the dead spare was not reaped";
}

TEST_F(SpareForkServerTest, ASilentSpareIsKilledAfterTheStartTimeout) {
  ASSERT_EQ(kill(spare_, SIGSTOP), 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WSTOPPED),
            0);  // it has stopped
  if (internal::AwaitSpareHelloForTesting(absl::ZeroDuration())) {
    kill(spare_, SIGCONT);
    GTEST_SKIP() << "the spare said hello before it could be stopped";
  }
  absl::StatusOr<std::unique_ptr<internal::ForkServer>> server =
      internal::TakeSpareForkServer(absl::Milliseconds(200));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(server.status().message(),
              HasSubstr(absl::StrCat("the fork server (pid ", spare_, ") did not start within")));
  EXPECT_TRUE(Reaped(pidfd_)) << "the silent spare was not killed and reaped";
  auto pool = ForkServerPool(1);
  EXPECT_NE(ServerOf(*pool), spare_);
}

TEST_F(SpareForkServerTest, AChangedEnvironmentIsNotHandedToAPool) {
  ASSERT_EQ(setenv("CF_SPARE_TEST_VARIABLE", "1", 1), 0);
  auto pool = ForkServerPool(1);
  const int server = ServerOf(*pool);
  unsetenv("CF_SPARE_TEST_VARIABLE");
  EXPECT_NE(server, spare_);
  EXPECT_EQ(Spare().pid, -1) << "a spare that can serve no pool is discarded";
  EXPECT_TRUE(AwaitExit(pidfd_));
  EXPECT_TRUE(Reaped(pidfd_));
}

TEST_F(SpareForkServerTest, AForkedChildNeitherUsesNorHoldsTheSpare) {
  const internal::SpareForkServerForTesting spare = Spare();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    if (Spare().pid != -1) {
      code = 10;  // the child sees a spare
    } else if (fcntl(spare.control_fd, F_GETFD) != -1 || errno != EBADF) {
      code = 11;  // the child still holds the spare's control socket
    } else if (fcntl(spare.pidfd, F_GETFD) != -1 || errno != EBADF) {
      code = 14;  // the child still holds the spare's pidfd
    } else if (kPoolsInForkedChildren) {
      try {
        auto pool = ForkServerPool(1);
        if (ServerOf(*pool) == spare.pid) code = 12;  // the child used the parent's spare
      } catch (...) {
        code = 13;
      }
    }
    _exit(code);
  }
  const int child_fd = PidFd(child);
  const bool exited = AwaitExit(child_fd);
  if (!exited) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(child_fd);
  ASSERT_TRUE(exited) << "the child hung";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: saw a spare, 11: kept its socket, 12: used it, "
                                       "13: its pool failed, 14: kept its pidfd";
  // The parent's spare is untouched, and still the parent's first pool's server.
  EXPECT_EQ(Spare().pid, spare_);
  auto pool = ForkServerPool(1);
  EXPECT_EQ(ServerOf(*pool), spare_);
}

TEST_F(SpareForkServerTest, ARawCloneChildClosesItsCopyWhenItWouldUseIt) {
  // clone() without CLONE_VM is a fork() that runs no atfork handler: the child still has the
  // parent's state, which the pid check catches when it would take the spare.
  const internal::SpareForkServerForTesting spare = Spare();
  const pid_t child = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr,
                                                 nullptr));
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    if (fcntl(spare.control_fd, F_GETFD) == -1) {
      code = 10;  // no copy to begin with: the test proves nothing
    } else if (absl::StatusOr<std::unique_ptr<internal::ForkServer>> taken =
                   internal::TakeSpareForkServer(kBound);
               !taken.ok() || *taken != nullptr) {
      code = 11;  // took the parent's spare
    } else if (fcntl(spare.control_fd, F_GETFD) != -1 || errno != EBADF) {
      code = 12;  // kept its copy of the control socket
    }
    _exit(code);
  }
  const int child_fd = PidFd(child);
  const bool exited = AwaitExit(child_fd);
  if (!exited) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(child_fd);
  ASSERT_TRUE(exited) << "the child hung";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no copy, 11: took the spare, 12: kept its socket";
  auto pool = ForkServerPool(1);
  EXPECT_EQ(ServerOf(*pool), spare_);
}

TEST_F(SpareForkServerTest, DescriptorsTheProgramClosedAndReusedAreLeftAlone) {
  // A program that closes descriptors it does not know and reuses the numbers.
  const internal::SpareForkServerForTesting spare = Spare();
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);
  ASSERT_EQ(dup3(devnull, spare.control_fd, O_CLOEXEC), spare.control_fd);
  ASSERT_EQ(dup3(devnull, spare.pidfd, O_CLOEXEC), spare.pidfd);
  close(devnull);
  const pid_t child = fork();  // its fork handler must not close them either
  ASSERT_GE(child, 0);
  if (child == 0) {
    _exit(fcntl(spare.control_fd, F_GETFD) == -1 || fcntl(spare.pidfd, F_GETFD) == -1 ? 1 : 0);
  }
  const int child_fd = PidFd(child);
  const bool exited = AwaitExit(child_fd);
  if (!exited) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(child_fd);
  EXPECT_TRUE(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the fork() child closed descriptors the program reused";
  auto pool = ForkServerPool(1);
  EXPECT_NE(ServerOf(*pool), spare_);
  EXPECT_NE(fcntl(spare.control_fd, F_GETFD), -1) << "cf closed a descriptor it no longer owned";
  EXPECT_NE(fcntl(spare.pidfd, F_GETFD), -1) << "cf closed a descriptor it no longer owned";
  EXPECT_TRUE(AwaitExit(pidfd_));
  EXPECT_TRUE(Reaped(pidfd_)) << "the abandoned spare was not reaped";
  close(spare.control_fd);
  close(spare.pidfd);
}

TEST(SparePrestartTest, OnlyTheMainThreadStartsASpare) {
  internal::ResetSpareForkServerForTesting();
  std::thread([] { internal::PrestartForkServer(); }).join();
  EXPECT_EQ(Spare().pid, -1);
  auto pool = ForkServerPool(1);
  EXPECT_GT(ServerOf(*pool), 1);
}

TEST(SparePrestartTest, AMultiThreadedProgramGetsASpareToo) {
  // With another thread alive the spare is started with posix_spawn() instead of fork().
  internal::ResetSpareForkServerForTesting();
  absl::Notification started, done;
  std::thread other([&] {
    started.Notify();
    done.WaitForNotificationWithTimeout(kBound);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kBound));
  internal::PrestartForkServer();
  done.Notify();
  other.join();
  const pid_t spare = Spare().pid;
  ASSERT_GT(spare, 0);
  auto pool = ForkServerPool(1);
  EXPECT_EQ(ServerOf(*pool), spare);
}

TEST(SparePrestartTest, TheOptOutVariableStartsNoSpare) {
  internal::ResetSpareForkServerForTesting();
  ASSERT_EQ(setenv(internal::kPrestartEnvVar, "0", 1), 0);
  internal::PrestartForkServer();
  unsetenv(internal::kPrestartEnvVar);
  EXPECT_EQ(Spare().pid, -1);
  auto pool = ForkServerPool(1);
  EXPECT_GT(ServerOf(*pool), 1);
}

// Through cf::InitProcessPool in a fresh program: a spare by default, reaped when the program
// exits without having made a pool; none with CF_PROCESS_POOL_PRESTART=0.
TEST(SparePrestartTest, AFreshProgramHasASpareUntilItExits) {
  const pid_t spare = SpareOfAFreshProgram("");
  ASSERT_GT(spare, 0);
  EXPECT_EQ(kill(spare, 0), -1) << "spare " << spare << " outlived its program, or is a zombie";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(SpareOfAFreshProgram(absl::StrCat(internal::kPrestartEnvVar, "=0")), -1);
  EXPECT_EQ(SpareOfAFreshProgram(absl::StrCat(internal::kPrestartEnvVar, "=off")), -1);
}

}  // namespace
}  // namespace cf::testing

// cf::InitProcessPool first, as in every process-pool test, so this binary serves as its own
// workers and fork servers; with kPrintSpareFlag it is the fresh program of the last test.
int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  if (argc == 2 && std::string(argv[1]) == cf::testing::kPrintSpareFlag) {
    std::printf("spare=%d\n", static_cast<int>(cf::internal::GetSpareForkServerForTesting().pid));
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
