// The free functions the executor behaviour suite submits: CPython's test helpers (pow, mul,
// divmod, str, abs, ...) as plain functions, so a process pool can register them with CF_TASK
// and run the same suite.
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_TASKS_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_TASKS_H_

#include <cstdint>
#include <string>
#include <utility>

namespace cf::testing {

int64_t Pow(int64_t base, int64_t exponent);
int Mul(int a, int b);
int Add(int a, int b);
int Abs(int x);
int Identity(int x);
std::string ToString(int x);
// Python's divmod; throws std::domain_error("integer division or modulo by zero") for b == 0.
std::pair<int, int> DivMod(int a, int b);
// Throws std::runtime_error(message).
int ThrowRuntimeError(std::string message);

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_TASKS_H_
