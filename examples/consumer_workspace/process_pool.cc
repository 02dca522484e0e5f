// The process pool with a dedicated worker program (:worker, a cf_worker_binary), found in this
// program's runfiles with Bazel's runfiles library: the tasks run in that program, not in a
// copy of this one.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cf/process_pool/process_pool_executor.h"
#include "tasks.h"
#include "tools/cpp/runfiles/runfiles.h"

using bazel::tools::cpp::runfiles::Runfiles;

int main(int argc, char** argv) {
  // The worker is data of this program: "<repository>/<package>/<target>" in its runfiles, where
  // this repository is "cf_consumer", the name in WORKSPACE (Bazel 4) or in MODULE.bazel (Bazel 7,
  // whose runfiles library maps it). Works under `bazel run` and when bazel-bin/process_pool is
  // started by hand. docs/consuming.md §5.3 in the cf repository.
  std::string error;
  std::unique_ptr<Runfiles> runfiles(Runfiles::Create(argv[0], &error));
  if (runfiles == nullptr) {
    std::fprintf(stderr, "no runfiles: %s\n", error.c_str());
    return 1;
  }
  const std::string worker = runfiles->Rlocation("cf_consumer/worker");

  // kSpawn (or kForkServer) starts worker_binary; kAuto would fork this program instead.
  cf::ProcessPoolExecutor pool({.max_workers = 2,
                                .start_method = cf::StartMethod::kSpawn,
                                .worker_binary = worker});

  const std::string ran_in = pool.Submit(&ProgramName).Result();
  std::printf("tasks run in: %s\n", ran_in.c_str());

  int sum = 0;
  for (int sq : pool.Map(&Square, std::vector<int>{1, 2, 3, 4}, {.chunksize = 2})) sum += sq;
  std::printf("Map(Square, 1..4) summed: %d\n", sum);

  bool parse_error = false;
  try {
    pool.Submit(&Parse, std::string("forty-two")).Result();
  } catch (const ParseError& e) {  // the worker's exception, rethrown here as itself
    parse_error = true;
    std::printf("ParseError from the worker: %s\n", e.what());
  }
  return ran_in == "worker" && sum == 30 && parse_error ? 0 : 1;
}
