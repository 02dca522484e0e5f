#include "tests/mpi/mpi_tasks.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/task.h"

namespace cf::mpi_test {
namespace {
struct ParseTrouble : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

int Square(int x) { return x * x; }
void Noop() {}
std::int64_t Pid() { return getpid(); }
int SleepMs(int ms) {
  absl::SleepFor(absl::Milliseconds(ms));
  return ms;
}
int ThrowOutOfRange(int x) { throw std::out_of_range(absl::StrCat("x=", x)); }
int ThrowUnregistered(int x) { throw ParseTrouble(absl::StrCat("bad input ", x)); }
int KillSelf(int x) {
  raise(SIGKILL);
  return x;
}
std::string Echo(std::string s) { return s; }
namespace {
std::string& TheGreeting() {
  static std::string* greeting = new std::string();
  return *greeting;
}
}  // namespace
void SetGreeting(std::string s) { TheGreeting() = std::move(s); }
namespace {
void Rendezvous(const std::string& folder, int calls) {
  const std::string mine = absl::StrCat(folder, "/", getpid(), "_", absl::ToUnixNanos(absl::Now()));
  const int fd = open(mine.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    int arrived = 0;
    if (DIR* dir = opendir(folder.c_str())) {
      while (dirent* entry = readdir(dir)) arrived += entry->d_name[0] != '.';
      closedir(dir);
    }
    if (arrived >= calls) return;
    if (absl::Now() > deadline) {
      throw std::runtime_error(absl::StrCat("rendezvous in ", folder, ": ", arrived, " of ",
                                            calls, " calls within 60 s"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}
}  // namespace
std::string Greeting(std::string rendezvous) {
  if (!rendezvous.empty()) Rendezvous(rendezvous, 2);
  return TheGreeting() + "@" + std::to_string(getpid());
}
std::int64_t PidAtRendezvous(std::string rendezvous) {
  Rendezvous(rendezvous, 2);
  return getpid();
}
void FailInit(std::string s) { throw std::runtime_error(s); }
int ForkAndReturn(int x) {
  fork();
  return x;
}
int Mul(int a, int b) { return a * b; }
int NotRegistered(int x) { return x; }

}  // namespace cf::mpi_test

CF_TASK(cf::mpi_test::Square);
CF_TASK(cf::mpi_test::Noop);
CF_TASK(cf::mpi_test::Pid);
CF_TASK(cf::mpi_test::SleepMs);
CF_TASK(cf::mpi_test::ThrowOutOfRange);
CF_TASK(cf::mpi_test::ThrowUnregistered);
CF_TASK(cf::mpi_test::KillSelf);
CF_TASK(cf::mpi_test::Echo);
CF_TASK(cf::mpi_test::Mul);
CF_TASK(cf::mpi_test::SetGreeting);
CF_TASK(cf::mpi_test::Greeting);
CF_TASK(cf::mpi_test::PidAtRendezvous);
CF_TASK(cf::mpi_test::FailInit);
CF_TASK(cf::mpi_test::ForkAndReturn);
