// //tools:mpi_primes — the tutorials' prime checker (//tools:primes) on MPI ranks, with
// cf::MpiPoolExecutor (docs/mpi.md):
//
//   mpirun --oversubscribe -np 3 bazel-bin/tools/mpi_primes             # ranks 1, 2 check
//   mpirun -np 3 bazel-bin/tools/mpi_primes --numbers=97,1000003,1000005
//   mpirun --hostfile hosts -np 9 bazel-bin/tools/mpi_primes            # 8 workers, 3 hosts
//
// Rank 0 submits one CheckPrime call per number (cf::tools::CheckPrime, the same CF_TASK the
// process pool runs); the other ranks run them. Output: one line per number, in input order —
// the number, "P" if prime, how long its check took on its rank — then which ranks served and
// the total time. Exit status 2 for bad flags.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/future.h"
#include "cf/mpi/mpi_pool_executor.h"
#include "cf/tools/prime_check.h"

ABSL_FLAG(std::string, numbers, "",
          "Comma-separated integers to check (default: the tutorial's list of 20 numbers).");

int main(int argc, char** argv) {
  cf::InitMpiPool(&argc, &argv);  // ranks 1..N-1 serve here and exit with rank 0
  absl::SetProgramUsageMessage(
      "The tutorials' prime checker on MPI ranks: mpirun -np N mpi_primes [--numbers=a,b,c]");
  absl::ParseCommandLine(argc, argv);
  std::vector<int64_t> numbers = cf::tools::TutorialNumbers();
  if (const std::string text = absl::GetFlag(FLAGS_numbers); !text.empty()) {
    numbers.clear();
    for (absl::string_view item : absl::StrSplit(text, ',')) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(item, &n)) {
        std::fprintf(stderr, "mpi_primes: '%s' is not an integer\n", std::string(item).c_str());
        return 2;
      }
      numbers.push_back(n);
    }
  }
  const absl::Time start = absl::Now();
  cf::MpiPoolExecutor pool;  // mpirun -np N: the N-1 other ranks; alone: spawns workers
  std::vector<cf::Future<cf::tools::PrimeResult>> futures;
  for (int64_t n : numbers) futures.push_back(pool.Submit(&cf::tools::CheckPrime, n));
  for (const auto& f : futures) {
    const cf::tools::PrimeResult& r = f.Result();
    std::printf("%16lld %c %9.6fs\n", static_cast<long long>(r.n), r.prime ? 'P' : ' ',
                r.seconds);
  }
  std::printf("Total time: %.3fs (%zu numbers, %d MPI worker%s)\n",
              absl::ToDoubleSeconds(absl::Now() - start), numbers.size(), pool.max_workers(),
              pool.max_workers() == 1 ? "" : "s");
  return 0;
}
