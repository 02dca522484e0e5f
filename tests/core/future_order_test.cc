// Futures as keys of ordered containers (docs/semantics.md §1.8): Future<T> and AnyFuture are
// ordered by the identity of their shared state, consistently with ==, so std::map and
// std::set work, including Python's future_to_url idiom with cf::AsCompleted and cf::Wait.
#include <algorithm>
#include <compare>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::UnorderedElementsAre;

constexpr absl::Duration kBound = absl::Seconds(30);

TEST(FutureOrderTest, FuturesKeyStdMapAndStdSet) {
  Promise<int> p1, p2;
  std::map<Future<int>, std::string> names;
  names[p1.GetFuture()] = "first";
  names[p2.GetFuture()] = "second";
  names[p1.GetFuture()] = "first again";  // another handle to the same future: the same key
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.at(p1.GetFuture()), "first again");
  std::set<AnyFuture> any = {p1.GetFuture(), p2.GetFuture(), AnyFuture(p1.GetFuture())};
  EXPECT_EQ(any.size(), 2u);
  EXPECT_EQ(any.count(p2.GetFuture()), 1u);
  std::set<Future<std::string>> strings = {MakeReadyFuture<std::string>("a")};
  EXPECT_EQ(strings.begin()->Result(), "a");
}

TEST(FutureOrderTest, StrictTotalOrderConsistentWithEquality) {
  static_assert(std::is_same_v<decltype(Future<int>() <=> Future<int>()), std::strong_ordering>);
  static_assert(std::is_same_v<decltype(AnyFuture() <=> AnyFuture()), std::strong_ordering>);
  static_assert(std::is_same_v<decltype(AnyFuture() <=> Future<int>()), std::strong_ordering>);
  std::vector<Promise<int>> promises(8);
  std::vector<Future<int>> fs;
  for (Promise<int>& p : promises) fs.push_back(p.GetFuture());
  fs.push_back(Future<int>());
  fs.push_back(fs[3]);
  for (const Future<int>& a : fs) {
    for (const Future<int>& b : fs) {
      // Exactly one of a < b, b < a, a == b.
      EXPECT_EQ((a < b) + (b < a) + (a == b), 1);
      EXPECT_EQ((a <=> b) == 0, a == b);
      EXPECT_EQ(a <= b, !(b < a));
      // An AnyFuture of the same state orders the same, and equals its Future<T>.
      const AnyFuture any_a = a;
      EXPECT_EQ(any_a == b, a == b);
      EXPECT_EQ(b == any_a, a == b);
      EXPECT_EQ(any_a < b, a < b);
      EXPECT_EQ(b < any_a, b < a);
      EXPECT_EQ(any_a < AnyFuture(b), a < b);
    }
  }
  std::vector<Future<int>> sorted = fs;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
  // Default-constructed (invalid) handles order first.
  EXPECT_FALSE(sorted.front().valid());
  for (const Future<int>& f : fs) {
    if (f.valid()) {
      EXPECT_LT(Future<int>(), f);
      EXPECT_LT(AnyFuture(), f);
      EXPECT_GT(AnyFuture(f), Future<int>());
    }
  }
  EXPECT_EQ(Future<int>(), Future<int>());
  EXPECT_EQ(AnyFuture(), Future<int>());
  EXPECT_EQ(Future<int>() <=> AnyFuture(), std::strong_ordering::equal);
}

// Python's future_to_url = {executor.submit(load_url, url): url for url in urls}.
TEST(FutureOrderTest, AsCompletedAndWaitOverAStdMap) {
  std::vector<Promise<int>> promises(3);
  const std::vector<std::string> urls = {"a.example", "b.example", "c.example"};
  std::map<Future<int>, std::string> future_to_url;
  for (size_t i = 0; i < urls.size(); ++i) future_to_url[promises[i].GetFuture()] = urls[i];
  std::thread producer([&promises] {
    for (size_t i = 0; i < promises.size(); ++i) promises[i].SetResult(static_cast<int>(i) * 10);
  });
  std::vector<std::string> seen;
  for (const Future<int>& f : AsCompleted(future_to_url, kBound)) {
    seen.push_back(future_to_url.at(f) + "=" + std::to_string(f.Result()));
  }
  producer.join();
  EXPECT_THAT(seen, UnorderedElementsAre("a.example=0", "b.example=10", "c.example=20"));
  auto [done, not_done] = Wait(future_to_url, kBound);
  EXPECT_EQ(done.size(), 3u);
  EXPECT_TRUE(not_done.empty());
  std::map<AnyFuture, int> any_map = {{future_to_url.begin()->first, 1}};
  EXPECT_EQ(Wait(any_map, kBound).done.size(), 1u);
  std::set<Future<int>> set;
  for (const auto& [f, url] : future_to_url) set.insert(f);
  int yielded = 0;
  for (const Future<int>& f : AsCompleted(set, kBound)) yielded += f.Done();
  EXPECT_EQ(yielded, 3);
}

}  // namespace
}  // namespace cf
