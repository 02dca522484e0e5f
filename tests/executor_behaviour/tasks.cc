#include "tests/executor_behaviour/tasks.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace cf::testing {

int64_t Pow(int64_t base, int64_t exponent) {
  int64_t result = 1;
  for (int64_t i = 0; i < exponent; ++i) result *= base;
  return result;
}

int Mul(int a, int b) { return a * b; }
int Add(int a, int b) { return a + b; }
int Abs(int x) { return x < 0 ? -x : x; }
int Identity(int x) { return x; }
std::string ToString(int x) { return std::to_string(x); }

std::pair<int, int> DivMod(int a, int b) {
  if (b == 0) throw std::domain_error("integer division or modulo by zero");
  int q = a / b;
  int r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) {  // Python floors
    --q;
    r += b;
  }
  return {q, r};
}

int ThrowRuntimeError(std::string message) { throw std::runtime_error(message); }

}  // namespace cf::testing
