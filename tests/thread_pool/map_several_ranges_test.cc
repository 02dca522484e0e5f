// ThreadPoolExecutor::Map over several ranges (docs/semantics.md §3.2): Python's
// executor.map(fn, a, b, ...) zips its iterables, calls fn(a[i], b[i], ...) and stops at the
// shortest; cf takes the ranges directly, with MapOptions optionally last.
#include <chrono>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::ElementsAre;

template <typename Results>
auto Collect(Results&& results) {
  std::vector<typename std::remove_cvref_t<Results>::value_type> out;
  for (auto& r : results) out.push_back(std::move(r));
  return out;
}

int Mul(int a, int b) { return a * b; }

TEST(MapSeveralRangesTest, ZipsAndStopsAtTheShortest) {
  ThreadPoolExecutor pool(2);
  const std::vector<int> a = {1, 2, 3, 4, 5};
  const std::vector<int> b = {10, 20, 30};
  EXPECT_THAT(Collect(pool.Map(Mul, a, b)), ElementsAre(10, 40, 90));
  EXPECT_THAT(Collect(pool.Map(Mul, b, a)), ElementsAre(10, 40, 90));
  EXPECT_THAT(Collect(pool.Map(Mul, a, std::vector<int>{})), ElementsAre());
}

TEST(MapSeveralRangesTest, OptionsLastBracedOrNamed) {
  ThreadPoolExecutor pool(2);
  const std::vector<int> a = {1, 2, 3, 4, 5, 6, 7};
  const std::vector<int> b = {1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_THAT(Collect(pool.Map(Mul, a, b, {.chunksize = 3})), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  const MapOptions options{.timeout = std::chrono::seconds(60), .chunksize = 2, .buffersize = 1};
  EXPECT_THAT(Collect(pool.Map(Mul, a, b, options)), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(Collect(pool.Map(Mul, a, b, MapOptions{.chunksize = 100})),
              ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_THROW(pool.Map(Mul, a, b, {.chunksize = 0}), std::invalid_argument);
  EXPECT_THROW(pool.Map(Mul, a, b, MapOptions{.buffersize = -1}), std::invalid_argument);
}

TEST(MapSeveralRangesTest, ThreeRangesOfDifferentTypes) {
  ThreadPoolExecutor pool(3);
  auto label = [](const std::string& name, int n, double scale) {
    return name + ":" + std::to_string(static_cast<int>(n * scale));
  };
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  EXPECT_THAT(Collect(pool.Map(label, names, std::vector<int>{1, 2, 3},
                               std::vector<double>{10, 10, 10, 10})),
              ElementsAre("a:10", "b:20", "c:30"));
  const MapOptions options{.chunksize = 2};
  EXPECT_THAT(Collect(pool.Map(label, names, std::views::iota(1), std::vector<double>(4, 2.0),
                               options)),
              ElementsAre("a:2", "b:4", "c:6", "d:8"));
}

// An unbounded range zipped with a finite one, and two unbounded ones with buffersize: inputs
// are pulled lazily, exactly buffersize chunks while nobody iterates.
TEST(MapSeveralRangesTest, LazyAndUnboundedRangesWithBuffersize) {
  ThreadPoolExecutor pool(2);
  EXPECT_THAT(Collect(pool.Map(Mul, std::views::iota(0), std::vector<int>{5, 5, 5})),
              ElementsAre(0, 5, 10));
  int pulled = 0;
  auto counted = std::views::iota(0) | std::views::transform([&pulled](int i) {
                   ++pulled;
                   return i;
                 });
  auto results = pool.Map(Mul, counted, std::views::iota(100), {.chunksize = 2, .buffersize = 3});
  EXPECT_EQ(pulled, 6);
  std::vector<int> out;
  for (int r : results) {
    out.push_back(r);
    if (out.size() == 10) break;
  }
  EXPECT_THAT(out, ElementsAre(0, 101, 204, 309, 416, 525, 636, 749, 864, 981));
  EXPECT_LE(pulled, 10 + 2 * 3);
}

// An rvalue container is moved in and its elements moved out (move-only ones work); an lvalue
// one is referenced and copied from.
TEST(MapSeveralRangesTest, OwnedRangesAreMovedFrom) {
  ThreadPoolExecutor pool(2);
  std::vector<std::unique_ptr<int>> boxes;
  for (int i = 0; i < 4; ++i) boxes.push_back(std::make_unique<int>(i));
  const std::vector<int> factors = {2, 3, 4, 5};
  auto unbox = [](std::unique_ptr<int> box, int factor) { return *box * factor; };
  EXPECT_THAT(Collect(pool.Map(unbox, std::move(boxes), factors, {.chunksize = 3})),
              ElementsAre(0, 3, 8, 15));
  EXPECT_THAT(factors, ElementsAre(2, 3, 4, 5));
}

TEST(MapSeveralRangesTest, ExceptionsEndTheIteration) {
  ThreadPoolExecutor pool(2);
  auto divide = [](int a, int b) {
    if (b == 0) throw std::domain_error("division by zero");
    return a / b;
  };
  auto results = pool.Map(divide, std::vector<int>{8, 9, 10}, std::vector<int>{2, 0, 5});
  auto it = results.begin();
  EXPECT_EQ(*it, 4);
  EXPECT_THROW(++it, std::domain_error);
  EXPECT_TRUE(it == results.end());
}

// Map of one range keeps spreading tuple/pair elements, as before.
TEST(MapSeveralRangesTest, OneRangeOfPairsStillSpreads) {
  ThreadPoolExecutor pool(2);
  const std::vector<std::pair<int, int>> pairs = {{2, 3}, {4, 5}};
  EXPECT_THAT(Collect(pool.Map(Mul, pairs)), ElementsAre(6, 20));
  EXPECT_THAT(Collect(pool.Map(Mul, pairs, {.chunksize = 2})), ElementsAre(6, 20));
}

}  // namespace
}  // namespace cf
