// Helpers for executor tests: the wait bound, MapOptions builders, draining a MapResults.
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_TEST_UTIL_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_TEST_UTIL_H_

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/executor.h"

namespace cf::testing {

// The bound on every blocking wait (Python's SHORT_TIMEOUT).
inline constexpr absl::Duration kBound = absl::Seconds(30);

// MapOptions without designated initializers (-Wmissing-field-initializers).
inline MapOptions WithChunksize(int chunksize) {
  MapOptions options;
  options.chunksize = chunksize;
  return options;
}
inline MapOptions WithBuffersize(int buffersize, int chunksize = 1) {
  MapOptions options;
  options.buffersize = buffersize;
  options.chunksize = chunksize;
  return options;
}
inline MapOptions WithTimeout(absl::Duration timeout) {
  MapOptions options;
  options.timeout = timeout;
  return options;
}

// Drains a MapResults (or any input range) into a vector, moving the elements out.
template <typename Range>
auto Collect(Range&& results) {
  std::vector<std::remove_cvref_t<decltype(*results.begin())>> out;
  for (auto& value : results) out.push_back(std::move(value));
  return out;
}

// gtest test-name generator: the traits' Name().
struct TraitsNames {
  template <typename Traits>
  static std::string GetName(int) {
    return Traits::Name();
  }
};

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_TEST_UTIL_H_
