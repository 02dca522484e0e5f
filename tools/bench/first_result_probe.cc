// //tools/bench:first_result_probe — the first process pool of a fresh program: how long from
// constructing it to its first result. BM_ProcessPool_FirstResult constructs pools over and over
// in one process, so it never sees a program's first pool; run this once per sample instead
// (tools/bench/compare does, next to the same measure of Python in process_pool_python.py).
//
//   first_result_probe METHOD [T0_NS [SETUP_MS]]
//
// METHOD: fork, forkserver, spawn or auto. T0_NS: CLOCK_MONOTONIC nanoseconds read by whoever
// starts this program just before starting it (Python: time.monotonic_ns(), the same clock); -1
// for none. SETUP_MS (default 0): the program's own work between InitProcessPool and its first
// pool, as a busy loop on the main thread; with 0 the pool is made at once, so the spare fork
// server has had no head start (the least it can gain).
//
// main() calls cf::InitProcessPool first, as a program should; with the default settings that
// starts the spare fork server (process_pool/internal/spare_fork_server.h), so this is the
// figure a real program gets. Prints "name value" lines, times in milliseconds:
//
//   cf_<method>_fresh_first_result_ms   constructing a 2-worker pool → the first result of a
//                                       no-op task: the window Python's figure measures. The
//                                       program's start and InitProcessPool are NOT in it:
//   cf_<method>_fresh_init_ms           how long cf::InitProcessPool took, and
//   cf_<method>_fresh_since_start_ms    from T0_NS to the first result: starting the program,
//                                       loading, static initialisation, InitProcessPool and the
//                                       window above (only with T0_NS), and
//   cf_<method>_fresh_since_exec_ms     without T0_NS: the same from the kernel's start time of
//                                       this process (/proc/self/stat, in 10 ms ticks, so up to
//                                       10 ms too long). Either way nobody has to take the first
//                                       window's word that no cost moved out of it.
//   cf_<method>_fresh_second_pool_ms    the window again for a second pool made after the first
//                                       is destroyed (it cannot take the spare: it starts its
//                                       own fork server, as every pool did before).
//
// The environment variable CF_PROCESS_POOL_PRESTART=0 turns the spare off, for comparison.
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/task.h"

namespace {

int Noop(int x) { return x; }

int64_t NowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Field 22 of /proc/self/stat: this process's start, in clock ticks after boot; -1 if unknown.
int64_t ProcessStartNs() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t paren = line.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::stoll(field) * (1'000'000'000 / sysconf(_SC_CLK_TCK));
  }
  return -1;
}

// Constructing a 2-worker pool → the first result (CLOCK_MONOTONIC, ns); the pool is destroyed
// after the window.
struct Window {
  int64_t start = 0;
  int64_t end = 0;
  double ms() const { return Ms(end - start); }
};

Window FirstResult(cf::StartMethod method) {
  Window w;
  w.start = NowNs(CLOCK_MONOTONIC);
  cf::ProcessPoolExecutor pool({.max_workers = 2, .start_method = method});
  if (pool.Submit(&Noop, 1).Result() != 1) std::abort();
  w.end = NowNs(CLOCK_MONOTONIC);
  return w;
}

}  // namespace

CF_TASK(Noop);

int main(int argc, char** argv) {
  const int64_t init_start = NowNs(CLOCK_MONOTONIC);
  cf::InitProcessPool(argc, argv);
  const int64_t init_end = NowNs(CLOCK_MONOTONIC);
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s fork|forkserver|spawn|auto [T0_NS [SETUP_MS]]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  cf::StartMethod method;
  if (name == "fork") {
    method = cf::StartMethod::kFork;
  } else if (name == "forkserver") {
    method = cf::StartMethod::kForkServer;
  } else if (name == "spawn") {
    method = cf::StartMethod::kSpawn;
  } else if (name == "auto") {
    method = cf::StartMethod::kAuto;
  } else {
    std::fprintf(stderr, "unknown start method '%s'\n", argv[1]);
    return 2;
  }
  const int64_t t0 = argc >= 3 ? std::stoll(argv[2]) : -1;
  const int64_t setup_ns = argc >= 4 ? std::stoll(argv[3]) * 1'000'000 : 0;
  for (const int64_t until = init_end + setup_ns; NowNs(CLOCK_MONOTONIC) < until;) {
  }
  const Window first = FirstResult(method);
  const int64_t boottime_offset = NowNs(CLOCK_BOOTTIME) - NowNs(CLOCK_MONOTONIC);
  const Window second = FirstResult(method);

  const int64_t exec_start = ProcessStartNs();
  std::printf("cf_%s_fresh_first_result_ms %.3f\n", name.c_str(), first.ms());
  std::printf("cf_%s_fresh_init_ms %.3f\n", name.c_str(), Ms(init_end - init_start));
  if (t0 >= 0) {
    std::printf("cf_%s_fresh_since_start_ms %.3f\n", name.c_str(), Ms(first.end - t0));
  }
  if (t0 < 0 && exec_start >= 0) {
    std::printf("cf_%s_fresh_since_exec_ms %.1f\n", name.c_str(),
                Ms(first.end + boottime_offset - exec_start));
  }
  std::printf("cf_%s_fresh_second_pool_ms %.3f\n", name.c_str(), second.ms());
  return 0;
}
