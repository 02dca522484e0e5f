#include "cf/tools/prime_check.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/serialization/task.h"

namespace cf::tools {

bool IsPrime(int64_t n) {
  if (n < 2) return false;
  if (n == 2) return true;
  if (n % 2 == 0) return false;
  // The largest r with r * r <= n, without trusting the double's rounding.
  int64_t root = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  while (root > 0 && root > n / root) --root;
  while ((root + 1) <= n / (root + 1)) ++root;
  for (int64_t i = 3; i <= root; i += 2) {
    if (n % i == 0) return false;
  }
  return true;
}

PrimeResult CheckPrime(int64_t n) {
  const absl::Time start = absl::Now();
  const bool prime = IsPrime(n);
  return {.n = n, .prime = prime, .seconds = absl::ToDoubleSeconds(absl::Now() - start)};
}

const std::vector<int64_t>& TutorialNumbers() {
  static const auto* const numbers = new std::vector<int64_t>{
      2,                 142702110479723,   299593572317531,  3333333333333301,
      3333333333333333,  3333335652092209,  4444444444444423, 4444444444444444,
      4444444488888889,  5555553133149889,  5555555555555503, 5555555555555555,
      6666666666666666,  6666666666666719,  6666667141414921, 7777777536340681,
      7777777777777753,  7777777777777777,  9999999999999917, 9999999999999999,
  };
  return *numbers;
}

}  // namespace cf::tools

CF_TASK(cf::tools::CheckPrime);
