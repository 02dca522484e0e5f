// noop_calls METHOD WORKERS MODE N — N no-op calls through a cf::ProcessPoolExecutor, for
// counting instructions per call under callgrind (tools/bench/instructions, issue 13).
//
//   METHOD   fork | forkserver | spawn
//   WORKERS  the pool's max_workers (1, 2, ...)
//   MODE     batch: Submit(&Noop, i) N times, then wait for all N futures
//            serial: Submit(&Noop, i), wait for it, N times (one call in flight)
//   N        calls (0 is allowed: only the start-up, warm-up and shutdown)
//
// Before the N calls the pool is warmed up: every worker is started (the program checks that
// worker_pids() has WORKERS pids) and has run calls in both modes, so the N calls find every
// buffer, queue and thread already there. A run with N1 calls and one with N2 calls differ only
// in the N2 - N1 extra calls, so (I(N2) - I(N1)) / (N2 - N1) is the cost of one call.
//
// It prints one line to stdout, for the driver:
//   parent=PID workers=PID[,PID...] calls=N sum=S
// (S is the sum of the results, so a wrong answer shows.) main() calls cf::InitProcessPool first,
// so kSpawn and kForkServer can start this program as their workers.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/process_pool/start_method.h"
#include "cf/serialization/task.h"

namespace cf_bench {

int Noop(int x) { return x; }

}  // namespace cf_bench

CF_TASK(cf_bench::Noop);

namespace cf_bench {
namespace {

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "noop_calls: %s\nusage: noop_calls fork|forkserver|spawn WORKERS batch|serial N\n",
               why);
  std::exit(2);
}

std::int64_t Batch(cf::ProcessPoolExecutor& pool, int n) {
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) futures.push_back(pool.Submit(&Noop, i));
  std::int64_t sum = 0;
  for (auto& f : futures) sum += f.Result();
  return sum;
}

std::int64_t Serial(cf::ProcessPoolExecutor& pool, int n) {
  std::int64_t sum = 0;
  for (int i = 0; i < n; ++i) sum += pool.Submit(&Noop, i).Result();
  return sum;
}

int Main(int argc, char** argv) {
  if (argc != 5) Usage("wrong number of arguments");
  cf::ProcessPoolExecutor::Options options;
  const std::string method = argv[1];
  if (method == "fork") {
    options.start_method = cf::StartMethod::kFork;
  } else if (method == "forkserver") {
    options.start_method = cf::StartMethod::kForkServer;
  } else if (method == "spawn") {
    options.start_method = cf::StartMethod::kSpawn;
  } else {
    Usage("unknown start method");
  }
  options.max_workers = std::atoi(argv[2]);
  if (options.max_workers < 1) Usage("WORKERS must be at least 1");
  const std::string mode = argv[3];
  if (mode != "batch" && mode != "serial") Usage("MODE must be batch or serial");
  char* end = nullptr;
  const long n = std::strtol(argv[4], &end, 10);
  if (*argv[4] == '\0' || *end != '\0' || n < 0 || n > 100'000'000) Usage("bad N");

  // kSpawn and kForkServer start "/proc/self/exe" by default; under valgrind that names the tool,
  // not this program (valgrind then fails to load it: "mmap(0x58000000, 4096) failed in UME"), so
  // name this program's own path, which valgrind reports for /proc/self/exe. Only the start of a
  // worker uses it.
  if (options.start_method != cf::StartMethod::kFork) {
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) Usage("cannot read /proc/self/exe");
    options.worker_binary.assign(self, static_cast<std::size_t>(len));
  }

  cf::ProcessPoolExecutor pool(options);
  // Warm-up: calls in flight until every worker has started (a new worker is started only when
  // none is idle), then some of both kinds.
  for (int round = 0; pool.worker_pids().size() < static_cast<std::size_t>(options.max_workers);
       ++round) {
    if (round == 100) {
      std::fprintf(stderr, "noop_calls: only %zu of %d workers started\n",
                   pool.worker_pids().size(), options.max_workers);
      return 1;
    }
    Batch(pool, 50 * options.max_workers);
  }
  Batch(pool, 200);
  Serial(pool, 50);

  const std::int64_t sum = mode == "batch" ? Batch(pool, static_cast<int>(n))
                                           : Serial(pool, static_cast<int>(n));
  if (sum != static_cast<std::int64_t>(n) * (n - 1) / 2) {
    std::fprintf(stderr, "noop_calls: wrong sum %lld\n", static_cast<long long>(sum));
    return 1;
  }
  const std::vector<pid_t> pids = pool.worker_pids();
  if (pids.size() != static_cast<std::size_t>(options.max_workers)) {
    std::fprintf(stderr, "noop_calls: %zu workers at the end, not %d (one was replaced?)\n",
                 pids.size(), options.max_workers);
    return 1;
  }
  std::string workers;
  for (pid_t pid : pids) {
    if (!workers.empty()) workers += ',';
    workers += std::to_string(pid);
  }
  std::printf("parent=%d workers=%s calls=%ld sum=%lld\n", static_cast<int>(getpid()),
              workers.c_str(), n, static_cast<long long>(sum));
  std::fflush(stdout);
  pool.Shutdown();
  return 0;
}

}  // namespace
}  // namespace cf_bench

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  try {
    return cf_bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "noop_calls: %s\n", e.what());
    return 1;
  }
}
