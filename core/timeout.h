// cf/core/timeout.h — cf::Timeout: the type of every timeout cf takes (Future::Result,
// Exception and Wait, AnyFuture's, cf::Wait, cf::AsCompleted, MapOptions::timeout,
// ThreadPoolExecutor::WaitIdle), so each accepts an absl::Duration or any std::chrono::duration.
//
//   f.Result(absl::Seconds(1));                  // as before
//   f.Result(std::chrono::milliseconds(250));    // the same, from std::chrono
//   pool.Map(fn, inputs, {.timeout = std::chrono::seconds(2)});
//
// Conversions (implicit, so a Timeout parameter reads like a duration parameter):
//   * absl::Duration as is; absl::InfiniteDuration() (the default) means "no timeout", Python's
//     timeout=None. Zero or negative: check once without waiting.
//   * std::chrono::duration<Rep, Period> of any tick and representation: exactly, through
//     absl::FromChrono for the six standard durations (nanoseconds ... hours), otherwise as
//     count * Period seconds; values beyond absl::Duration's range (about ±292 billion years)
//     saturate to ±absl::InfiniteDuration(). duration::max() — std::chrono's "forever" — is
//     absl::InfiniteDuration() too, and duration::min() its negative.
//   * Back to absl::Duration (implicitly, or with duration()).
//
// Thread safety: a Timeout is an immutable value; copies may be used from any thread. It
// takes no clock reading: each function that takes one says from when it counts.
#ifndef CF_CORE_TIMEOUT_H_
#define CF_CORE_TIMEOUT_H_

#include <chrono>
#include <cstdint>
#include <ratio>
#include <type_traits>

#include "absl/time/time.h"

namespace cf {

namespace internal {

template <typename Rep, typename Period>
constexpr bool kStandardChrono =
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::nanoseconds> ||
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::microseconds> ||
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::milliseconds> ||
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::seconds> ||
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::minutes> ||
    std::is_same_v<std::chrono::duration<Rep, Period>, std::chrono::hours>;

// Any std::chrono duration as an absl::Duration, as the file comment describes.
template <typename Rep, typename Period>
absl::Duration DurationFromChrono(const std::chrono::duration<Rep, Period>& d) {
  using Chrono = std::chrono::duration<Rep, Period>;
  if (d == Chrono::max()) return absl::InfiniteDuration();
  if (std::is_signed_v<Rep> && d == Chrono::min()) return -absl::InfiniteDuration();
  if constexpr (kStandardChrono<Rep, Period>) {
    return absl::FromChrono(d);
  } else if constexpr (std::chrono::treat_as_floating_point_v<Rep>) {
    return absl::Nanoseconds(std::chrono::duration<double, std::nano>(d).count());
  } else {
    static_assert(std::is_integral_v<Rep>,
                  "cf::Timeout: a std::chrono::duration needs an arithmetic representation");
    // absl::Duration's arithmetic is exact to a quarter nanosecond, and saturates.
    return absl::Seconds(static_cast<int64_t>(d.count())) * static_cast<int64_t>(Period::num) /
           static_cast<int64_t>(Period::den);
  }
}

}  // namespace internal

class Timeout {
 public:
  // No timeout: absl::InfiniteDuration().
  constexpr Timeout() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): a timeout parameter takes a duration as is
  constexpr Timeout(absl::Duration duration) : duration_(duration) {}
  template <typename Rep, typename Period>
  // NOLINTNEXTLINE(google-explicit-constructor): and std::chrono durations alike
  Timeout(const std::chrono::duration<Rep, Period>& duration)
      : duration_(internal::DurationFromChrono(duration)) {}

  constexpr absl::Duration duration() const { return duration_; }
  // NOLINTNEXTLINE(google-explicit-constructor): code written for absl::Duration keeps working
  constexpr operator absl::Duration() const { return duration_; }

 private:
  absl::Duration duration_ = absl::InfiniteDuration();
};

}  // namespace cf

#endif  // CF_CORE_TIMEOUT_H_
