// Tasks for the process-pool tests: registered with CF_TASK in process_tasks.cc (together with
// the executor behaviour suite's tasks), so every worker, however started, can run them.
#ifndef CF_TESTS_PROCESS_POOL_PROCESS_TASKS_H_
#define CF_TESTS_PROCESS_POOL_PROCESS_TASKS_H_

#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/serialization/deep_value.h"

namespace cf::testing {

int GetPid();
int GetPidAfterGate(int64_t gate, int unused);
// Dies the way the name says, inside the task.
int CrashWithSegfault(int unused);
int ExitWithCode(int code);
int Abort(int unused);
// Dies with SIGSEGV after blocking on the gate (test_shutdown_deadlock).
int CrashAfterGate(int64_t gate);
// Crashes; the argument is big (test_crash_big_data).
int CrashWithData(std::string data);
std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> data);
// The initializer test: remembers a value per worker process, and reads it back.
void SetInitStatus(std::string status);
std::string GetInitStatus();
void FailingInitializer(std::string message);
// Throws std::out_of_range(message).
int ThrowOutOfRange(std::string message);
// Throws a type the parent cannot rebuild (becomes cf::RemoteError).
int ThrowUnregisteredType(std::string message);
// Throws something that is not a std::exception.
int ThrowInt(int value);

// A value whose (de)serialization misbehaves on purpose, in the process that does it:
// kind 0: fine; 1: throws std::runtime_error; 2: SIGSEGV; 3: exit(7).
// Dies of SIGSEGV for real: under ASan the sanitizer's own handler would otherwise turn the
// signal into a report and exit code 1.
[[noreturn]] inline void DieOfSegfault() {
  signal(SIGSEGV, SIG_DFL);
  raise(SIGSEGV);
  _exit(99);  // not reached
}

// exit(code), as a task calling exit() would; LeakSanitizer's check at exit is skipped (the
// worker is torn down mid-stream, and the check would change the exit code).
// Set by ExitLikeATask; read by __lsan_is_turned_off() in process_tasks.cc.
inline bool exiting_like_a_task = false;
[[noreturn]] inline void ExitLikeATask(int code) {
  exiting_like_a_task = true;
  std::exit(code);
}

inline void Misbehave(int kind, const char* where) {
  switch (kind) {
    case 1:
      throw std::runtime_error(std::string("Hostile: error while ") + where);
    case 2:
      DieOfSegfault();
    case 3:
      ExitLikeATask(7);
    default:
      break;
  }
}

struct Hostile {
  int on_save = 0;
  int on_load = 0;
  template <class Archive>
  void save(Archive& archive) const {
    Misbehave(on_save, "saving");
    archive(on_save, on_load);
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(on_save, on_load);
    Misbehave(on_load, "loading");
  }
};
// Takes a Hostile argument (decoding it in the worker misbehaves per on_load) and returns one
// whose encoding in the worker misbehaves per `result_on_save` and whose decoding in the parent
// misbehaves per `result_on_load`.
Hostile PassHostile(Hostile argument, int result_on_save, int result_on_load);

// Deep{n}: nests n + 1 levels when encoded (tests/serialization/deep_value.h).
using Deep = ::cf_test::Deep;
int DeepDepth(Deep value);
Deep MakeDeep(int depth);
// Returns `value` once the file `path` exists (checked every 5 ms, for at most 60 s): a gate
// that costs the test process no descriptor.
int WaitForFile(std::string path, int value);
// A result of n bytes (a small argument, a big result).
std::vector<std::uint8_t> MakeBytes(std::int64_t n);
// `count` strings of `length` characters, string i made of the letter 'a' + i % 26: a result
// encoded piece by piece (its buffer grows many times while it is encoded).
std::vector<std::string> MakeStrings(std::int64_t count, std::int64_t length);
// The sum of `data`'s bytes: a big argument whose every byte the test checks.
std::int64_t SumBytes(std::vector<std::uint8_t> data);
// Test-side helpers for big payloads: n bytes that differ with `seed`, and their sum (as
// SumBytes computes it in a worker).
std::vector<std::uint8_t> PatternBytes(std::size_t n, int seed);
std::int64_t SumOf(const std::vector<std::uint8_t>& data);
// As KillWorkerOnce (the first call SIGKILLs its worker), then SumBytes(data).
std::int64_t KillWorkerOnceThenSum(std::string path, std::vector<std::uint8_t> data);
// Sleeps `ms` milliseconds, then SumBytes(data).
std::int64_t SleepThenSum(int ms, std::vector<std::uint8_t> data);

// Bytes whose encoding, once they are written, creates the file `mark_path` (if not empty): a
// test learns that a worker has written a result without waiting for it to arrive.
struct MarkedBytes {
  std::vector<std::uint8_t> bytes;
  std::string mark_path;
  template <class Archive>
  void save(Archive& archive) const {
    archive(bytes, mark_path);
    if (!mark_path.empty()) CreateMark(mark_path);
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(bytes, mark_path);
  }
  static void CreateMark(const std::string& path);
};
// Ignores SIGTERM, waits for the file `release` (WaitForFile), then returns `data`, whose
// encoding creates the file `mark`.
MarkedBytes IgnoreSigtermThenEcho(std::string release, std::string mark,
                                  std::vector<std::uint8_t> data);
// SumBytes(data) computed by a one-worker kFork pool this task makes (a pool inside a worker).
std::int64_t SumInAForkPool(std::vector<std::uint8_t> data);

// Not registered: Submit must refuse it.
int NotRegistered(int x);

// Issue 14: tasks that hang, or kill their worker.
// Blocks (in pause()) until a signal ends the worker; returns nothing.
int HangForever(int unused);
// Ignores SIGTERM, then blocks as HangForever: only SIGKILL ends it.
int IgnoreSigtermAndHang(int unused);
// Forks a child that ignores SIGTERM and blocks forever, writes the child's pid (text) to `path`,
// then blocks too.
int ForkChildAndHang(std::string path);
// Sleeps `ms` milliseconds, returns ms.
int SleepMs(int ms);
// SIGKILLs its own worker.
int KillOwnWorker(int unused);
// Tasks that damage their worker's process and return `value` as if nothing happened: the pool
// must notice what it needs and go on (hostile_task_test).
int CloseEveryDescriptor(int value);          // closes 3 and up (the worker's own too)
int CloseStandardStreams(int value);          // closes 0, 1 and 2
int LowerDescriptorLimit(int value);          // RLIMIT_NOFILE down to what is open now
int StartNewSession(int value);               // setsid()
int BlockEverySignal(int value);              // sigprocmask(SIG_BLOCK, all)
int LeaveAThreadRunning(int value);           // a thread that spins on after the task returns
int ForkAndReturnInBoth(int value);           // fork() without exec: two processes return
// SIGKILLs the worker's parent process (under kForkServer, the fork server; its workers die
// with it), then waits to be killed too (for at most 60 s).
int KillParentProcess(int unused);
// The first call for a given `path` creates the file and SIGKILLs its worker; later calls
// return `value`: a call that succeeds when run again.
int KillWorkerOnce(std::string path, int value);
// SIGKILLs its worker when x == 7; returns x * 10 otherwise (a crash inside a Map chunk).
int KillWorkerOnSeven(int x);

}  // namespace cf::testing

#endif  // CF_TESTS_PROCESS_POOL_PROCESS_TASKS_H_
