// Timeouts as std::chrono durations (cf::Timeout, cf/core/timeout.h): every timeout cf takes
// accepts absl::Duration and any std::chrono::duration, and both behave alike
// (docs/semantics.md §1.5). The executors' Map timeouts are tested with the executors.
#include "cf/core/timeout.h"

#include <chrono>
#include <cstdint>
#include <ratio>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

TEST(TimeoutTest, ConvertsChronoDurations) {
  EXPECT_EQ(Timeout(std::chrono::seconds(2)).duration(), absl::Seconds(2));
  EXPECT_EQ(Timeout(std::chrono::milliseconds(1500)).duration(), absl::Milliseconds(1500));
  EXPECT_EQ(Timeout(std::chrono::microseconds(-3)).duration(), absl::Microseconds(-3));
  EXPECT_EQ(Timeout(std::chrono::nanoseconds(7)).duration(), absl::Nanoseconds(7));
  EXPECT_EQ(Timeout(std::chrono::minutes(1)).duration(), absl::Minutes(1));
  EXPECT_EQ(Timeout(std::chrono::hours(1)).duration(), absl::Hours(1));
  // Ticks that are not one of the six standard ones, and floating-point ones.
  EXPECT_EQ(Timeout(std::chrono::duration<int, std::milli>(250)).duration(),
            absl::Milliseconds(250));
  EXPECT_EQ(Timeout(std::chrono::duration<int64_t, std::ratio<1, 4>>(3)).duration(),
            absl::Milliseconds(750));
  EXPECT_EQ(Timeout(std::chrono::duration<double>(0.25)).duration(), absl::Milliseconds(250));
  EXPECT_EQ(Timeout(std::chrono::duration<float, std::milli>(-2.0f)).duration(),
            absl::Milliseconds(-2));
}

TEST(TimeoutTest, InfiniteIsTheDefaultAndChronoMaxMeansForever) {
  EXPECT_EQ(Timeout().duration(), absl::InfiniteDuration());
  EXPECT_EQ(Timeout(absl::InfiniteDuration()).duration(), absl::InfiniteDuration());
  EXPECT_EQ(Timeout(std::chrono::milliseconds::max()).duration(), absl::InfiniteDuration());
  EXPECT_EQ(Timeout(std::chrono::hours::max()).duration(), absl::InfiniteDuration());
  EXPECT_EQ(Timeout(std::chrono::duration<double>::max()).duration(), absl::InfiniteDuration());
  // Too long for absl::Duration's range without being max(): saturates, as absl does.
  EXPECT_EQ(Timeout(std::chrono::hours(std::chrono::hours::max().count() - 1)).duration(),
            absl::InfiniteDuration());
  // Converts back, for code that reads MapOptions::timeout as an absl::Duration.
  const absl::Duration d = Timeout(std::chrono::seconds(3));
  EXPECT_EQ(d, absl::Seconds(3));
}

TEST(TimeoutTest, FutureMethodsTakeChrono) {
  Promise<int> p;
  Future<int> f = p.GetFuture();
  EXPECT_FALSE(f.Wait(std::chrono::milliseconds(5)));
  EXPECT_THROW(f.Result(std::chrono::milliseconds(1)), TimeoutError);
  EXPECT_THROW(f.Exception(std::chrono::microseconds(0)), TimeoutError);
  AnyFuture any = f;
  EXPECT_FALSE(any.Wait(std::chrono::nanoseconds(-1)));
  EXPECT_THROW(any.Exception(std::chrono::milliseconds(1)), TimeoutError);
  p.SetResult(7);
  EXPECT_EQ(f.Result(std::chrono::seconds(1)), 7);
  EXPECT_TRUE(f.Wait(std::chrono::seconds(0)));
  EXPECT_EQ(f.Exception(std::chrono::minutes(1)), nullptr);
  EXPECT_TRUE(any.Wait(std::chrono::milliseconds::max()));
  EXPECT_EQ(any.Exception(std::chrono::duration<double>(0.5)), nullptr);
}

TEST(TimeoutTest, WaitAndAsCompletedTakeChrono) {
  Promise<int> pending;
  Future<int> done = MakeReadyFuture<int>(1);
  std::vector<Future<int>> fs = {done, pending.GetFuture()};
  auto [d, nd] = Wait(fs, std::chrono::milliseconds(1));
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(nd.size(), 1u);
  auto first = Wait({done, pending.GetFuture()}, std::chrono::seconds(1),
                    ReturnWhen::kFirstCompleted);
  EXPECT_EQ(first.done.size(), 1u);
  int yielded = 0;
  EXPECT_THROW(
      for (const Future<int>& f : AsCompleted(fs, std::chrono::milliseconds(0))) {
        EXPECT_EQ(f, done);
        ++yielded;
      },
      TimeoutError);
  EXPECT_EQ(yielded, 1);
  yielded = 0;
  for (const Future<int>& f : AsCompleted({done}, std::chrono::seconds(1))) {
    EXPECT_EQ(f.Result(), 1);
    ++yielded;
  }
  EXPECT_EQ(yielded, 1);
}

TEST(TimeoutTest, MapOptionsTakeChronoInDesignatedInitializers) {
  MapOptions options{.timeout = std::chrono::seconds(2), .chunksize = 3};
  EXPECT_EQ(options.timeout.duration(), absl::Seconds(2));
  EXPECT_EQ(options.chunksize, 3);
  MapOptions absl_options{.timeout = absl::Milliseconds(5)};
  EXPECT_EQ(absl_options.timeout.duration(), absl::Milliseconds(5));
  EXPECT_EQ(MapOptions{}.timeout.duration(), absl::InfiniteDuration());
  ValidateMapOptions(options);
}

}  // namespace
}  // namespace cf
