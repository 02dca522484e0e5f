// cf/tools/prime_check.h — the seed tutorials' prime checker (docs/tutorials.md, seed 002),
// shared by //tools:primes and the tour: trial division on purpose (it is the tutorials'
// CPU-bound workload), plus the Check task that ProcessPoolExecutor runs in its workers.
//
// Thread safety: every function is reentrant.
#ifndef CF_TOOLS_PRIME_CHECK_H_
#define CF_TOOLS_PRIME_CHECK_H_

#include <cstdint>
#include <vector>

namespace cf::tools {

// True iff n is prime. Trial division by 2 and the odd numbers up to sqrt(n): about
// sqrt(n) / 2 divisions, about 0.1 s for a prime near 1e16 (--config=opt). Numbers below 2
// are not prime.
bool IsPrime(int64_t n);

// The tutorial's PrimeResult(n, prime, elapsed).
struct PrimeResult {
  int64_t n = 0;
  bool prime = false;
  double seconds = 0;  // time IsPrime(n) took, measured where it ran

  template <typename Archive>
  void serialize(Archive& archive) {
    archive(n, prime, seconds);
  }
};

// IsPrime(n), timed. Registered with CF_TASK, so a ProcessPoolExecutor can run it.
PrimeResult CheckPrime(int64_t n);

// The default list: the tutorial's [2, 142702110479723, 299593572317531, ...] continued with
// numbers of the same size up to 1e16 — 9 primes and 11 composites, some of them squares or
// products of two large primes, so that trial division runs to the end.
const std::vector<int64_t>& TutorialNumbers();

}  // namespace cf::tools

#endif  // CF_TOOLS_PRIME_CHECK_H_
