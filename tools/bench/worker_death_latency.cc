// //tools/bench:worker_death_latency — how fast a process pool gets over a worker's death
// (issue 14): a 1-worker pool with WorkerDeath::kFailTask runs a call that never returns; the
// worker is SIGKILLed, and we time
//   kill → future failed:        the kill until the call's future fails with WorkerDiedError;
//   kill → replacement's result: the kill until a no-op call submitted right after the failure
//                                returns from the worker that replaced the dead one,
// over N kills (default 1000) per start method, and print p50 and p99 in milliseconds.
//
//   ./bazelw run --config=opt //tools/bench:worker_death_latency -- [N] [METHOD...]
//
// METHOD: fork, forkserver, spawn (default: all three).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/task.h"

namespace {

int NoOp(int x) { return x; }
int Hang(int x) {
  for (;;) pause();
  return x;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()));
  return v[i];
}

void Measure(cf::StartMethod method, const char* name, int kills) {
  cf::ProcessPoolExecutor pool({.max_workers = 1,
                                .start_method = method,
                                .on_worker_death = cf::WorkerDeath::kFailTask});
  pool.Submit(&NoOp, 0).Result();
  std::vector<double> failed_ms;
  std::vector<double> replaced_ms;
  for (int i = 0; i < kills; ++i) {
    cf::Future<int> hung = pool.Submit(&Hang, 0);
    while (!hung.Running()) {
    }
    const std::vector<pid_t> pids = pool.worker_pids();
    if (pids.size() != 1) {
      std::fprintf(stderr, "expected one worker, found %zu\n", pids.size());
      std::exit(1);
    }
    const absl::Time start = absl::Now();
    kill(pids[0], SIGKILL);
    if (hung.Exception() == nullptr) {
      std::fprintf(stderr, "the hung call returned\n");
      std::exit(1);
    }
    failed_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    pool.Submit(&NoOp, i).Result();
    replaced_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", name, Percentile(failed_ms, 0.5),
              Percentile(failed_ms, 0.99), Percentile(replaced_ms, 0.5),
              Percentile(replaced_ms, 0.99));
  std::fflush(stdout);
}

}  // namespace

CF_TASK(NoOp);
CF_TASK(Hang);

int main(int argc, char** argv) {
  cf::InitProcessPool(argc, argv);
  const int kills = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::vector<std::string> methods(argv + std::min(argc, 2), argv + argc);
  if (methods.empty()) methods = {"fork", "forkserver", "spawn"};
  std::printf("%d kills per start method; milliseconds\n\n", kills);
  std::printf("| start method | kill → future failed p50 | p99 | kill → replacement's result "
              "p50 | p99 |\n|---|---|---|---|---|\n");
  for (const std::string& m : methods) {
    if (m == "fork") Measure(cf::StartMethod::kFork, "fork", kills);
    if (m == "forkserver") Measure(cf::StartMethod::kForkServer, "forkserver", kills);
    if (m == "spawn") Measure(cf::StartMethod::kSpawn, "spawn", kills);
  }
  return 0;
}
