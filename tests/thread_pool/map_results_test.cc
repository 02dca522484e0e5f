// cf::MapResults (cf/core/executor.h) and the executor-independent Map machinery
// (cf/core/internal/map.h), driven by a hand-operated fake executor: the test decides when each
// chunk completes, so ordering, pulling, timeouts and cancellation are checked exactly. Both
// executors build their Map on this.
#include <deque>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/core/internal/map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kBound = absl::Seconds(30);

MapOptions Options(int chunksize, int buffersize,
                   absl::Duration timeout = absl::InfiniteDuration()) {
  MapOptions options;
  options.chunksize = chunksize;
  options.buffersize = buffersize;
  options.timeout = timeout;
  return options;
}

// A fake executor: Submit records each chunk of ints; Complete(i) runs chunk i (x -> 10x) and
// completes its future. `gone` makes the submit function report an executor that no longer
// exists; `refuse` makes it throw ShutdownError.
class ManualExecutor {
 public:
  struct Chunk {
    std::vector<int> items;
    Promise<internal::MapChunk<int>> promise;
    Future<internal::MapChunk<int>> future = promise.GetFuture();
  };

  auto Submitter() {
    return
        [this](internal::MapItems<int>&& items) -> std::optional<Future<internal::MapChunk<int>>> {
          if (gone) return std::nullopt;
          if (refuse) throw ShutdownError();
          auto chunk = std::make_unique<Chunk>();
          chunk->items.assign(items.begin(), items.end());
          Future<internal::MapChunk<int>> future = chunk->future;
          chunks.push_back(std::move(chunk));
          return future;
        };
  }

  void Complete(size_t i) {
    Chunk& chunk = *chunks.at(i);
    if (!chunk.promise.SetRunningOrNotifyCancel()) return;
    internal::MapChunk<int> results;
    for (int x : chunk.items) results.push_back(10 * x);
    chunk.promise.SetResult(std::move(results));
  }
  void Fail(size_t i, std::exception_ptr error) {
    Chunk& chunk = *chunks.at(i);
    if (chunk.promise.SetRunningOrNotifyCancel()) chunk.promise.SetException(std::move(error));
  }
  std::vector<std::vector<int>> Submitted() const {
    std::vector<std::vector<int>> out;
    for (const auto& chunk : chunks) out.push_back(chunk->items);
    return out;
  }

  std::deque<std::unique_ptr<Chunk>> chunks;
  bool gone = false;
  bool refuse = false;
};

template <typename Range>
MapResults<int> Map(ManualExecutor& executor, Range&& inputs, const MapOptions& options) {
  ValidateMapOptions(options);
  return internal::MakeMapResults<int>(std::forward<Range>(inputs), options, executor.Submitter());
}

TEST(MapResultsTest, BuffersizeZeroSubmitsEveryChunkAtTheCall) {
  ManualExecutor executor;
  auto results = Map(executor, std::vector<int>{1, 2, 3, 4, 5}, Options(2, 0));
  EXPECT_THAT(executor.Submitted(),
              ElementsAre(ElementsAre(1, 2), ElementsAre(3, 4), ElementsAre(5)));
}

TEST(MapResultsTest, ResultsComeInInputOrderWhateverTheCompletionOrder) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(1, 6), Options(2, 0));
  executor.Complete(2);
  executor.Complete(1);
  executor.Complete(0);
  std::vector<int> out;
  for (int& x : results) out.push_back(x);
  EXPECT_THAT(out, ElementsAre(10, 20, 30, 40, 50));
}

TEST(MapResultsTest, BuffersizeBoundsTheChunksInFlight) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0), Options(3, 2));
  EXPECT_THAT(executor.Submitted(), ElementsAre(ElementsAre(0, 1, 2), ElementsAre(3, 4, 5)));
  executor.Complete(0);
  auto it = results.begin();  // submits a third chunk before waiting for the first
  EXPECT_EQ(executor.chunks.size(), 3u);
  EXPECT_EQ(*it, 0);
  ++it;
  ++it;
  EXPECT_EQ(*it, 20);
  EXPECT_EQ(executor.chunks.size(), 3u);  // still inside the first chunk
  executor.Complete(1);
  ++it;
  EXPECT_EQ(*it, 30);
  EXPECT_EQ(executor.chunks.size(), 4u);
}

TEST(MapResultsTest, AGoneExecutorEndsTheIterationQuietly) {
  ManualExecutor executor;
  int pulled = 0;
  auto counted = std::views::iota(0) | std::views::transform([&pulled](int x) {
                   ++pulled;
                   return x;
                 });
  auto results = Map(executor, counted, Options(1, 2));
  executor.gone = true;
  executor.Complete(0);
  executor.Complete(1);
  std::vector<int> out;
  for (int& x : results) out.push_back(x);
  EXPECT_THAT(out, ElementsAre(0, 10));
  EXPECT_EQ(pulled, 3);  // the chunk pulled for the gone executor is dropped
}

TEST(MapResultsTest, ARefusedSubmitAtTheCallCancelsWhatWasSubmitted) {
  ManualExecutor executor;
  auto submit = executor.Submitter();
  int calls = 0;
  auto flaky =
      [&](internal::MapItems<int>&& items) -> std::optional<Future<internal::MapChunk<int>>> {
    if (++calls == 3) throw ShutdownError();
    return submit(std::move(items));
  };
  EXPECT_THROW(internal::MakeMapResults<int>(std::vector<int>{1, 2, 3, 4}, Options(1, 0), flaky),
               ShutdownError);
  ASSERT_EQ(executor.chunks.size(), 2u);
  EXPECT_TRUE(executor.chunks[0]->future.Cancelled());
  EXPECT_TRUE(executor.chunks[1]->future.Cancelled());
}

TEST(MapResultsTest, ARefusedSubmitDuringIterationEndsIt) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0), Options(1, 2));
  executor.refuse = true;
  EXPECT_THROW(results.begin(), ShutdownError);
  EXPECT_TRUE(results.begin() == results.end());
  EXPECT_TRUE(executor.chunks[0]->future.Cancelled());
  EXPECT_TRUE(executor.chunks[1]->future.Cancelled());
}

TEST(MapResultsTest, TimeoutCountsFromTheCallAndCancelsTheWaitedChunk) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0, 3), Options(1, 0, absl::Milliseconds(20)));
  executor.Complete(0);
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  try {
    ++it;
    ADD_FAILURE() << "no timeout";
  } catch (const TimeoutError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("result #1"));
  }
  EXPECT_TRUE(it == results.end());
  EXPECT_TRUE(executor.chunks[1]->future.Cancelled());
  EXPECT_TRUE(executor.chunks[2]->future.Cancelled());
}

TEST(MapResultsTest, ZeroTimeoutStillYieldsWhatIsReady) {
  ManualExecutor executor;
  executor.chunks.clear();
  auto results = Map(executor, std::views::iota(0, 2), Options(1, 0, absl::ZeroDuration()));
  executor.Complete(0);
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  EXPECT_THROW(++it, TimeoutError);
}

TEST(MapResultsTest, AFailedChunkRethrowsAtItsPositionAndEndsTheIteration) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0, 6), Options(2, 0));
  executor.Complete(0);
  executor.Fail(1, std::make_exception_ptr(std::domain_error("chunk 1")));
  executor.Complete(2);
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_EQ(*it, 10);
  try {
    ++it;
    ADD_FAILURE() << "no exception";
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "chunk 1");
  }
  EXPECT_TRUE(it == results.end());
}

TEST(MapResultsTest, AChunkCancelledElsewhereThrowsCancelledError) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0, 2), Options(1, 0));
  executor.chunks[0]->future.Cancel();
  EXPECT_THROW(results.begin(), CancelledError);
  EXPECT_TRUE(executor.chunks[1]->future.Cancelled());
}

TEST(MapResultsTest, DestructionCancelsPendingChunksButNotFinishedOnes) {
  ManualExecutor executor;
  {
    auto results = Map(executor, std::views::iota(0, 3), Options(1, 0));
    executor.Complete(0);
    ASSERT_TRUE(executor.chunks[1]->promise.SetRunningOrNotifyCancel());  // "running"
  }
  EXPECT_FALSE(executor.chunks[0]->future.Cancelled());
  EXPECT_FALSE(executor.chunks[1]->future.Cancelled());  // already running: not cancellable
  EXPECT_TRUE(executor.chunks[2]->future.Cancelled());
  executor.chunks[1]->promise.SetResult({});
}

TEST(MapResultsTest, BlocksUntilAnotherThreadCompletesTheChunk) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0, 2), Options(1, 0, kBound));
  std::thread completer([&] {
    executor.Complete(1);
    executor.Complete(0);
  });
  std::vector<int> out;
  for (int& x : results) out.push_back(x);
  completer.join();
  EXPECT_THAT(out, ElementsAre(0, 10));
}

TEST(MapResultsTest, MovedFromResultsAreExhausted) {
  ManualExecutor executor;
  auto results = Map(executor, std::views::iota(0, 2), Options(1, 0));
  MapResults<int> moved(std::move(results));
  EXPECT_TRUE(results.begin() == results.end());  // NOLINT(bugprone-use-after-move)
  executor.Complete(0);
  executor.Complete(1);
  std::vector<int> out;
  for (int& x : moved) out.push_back(x);
  EXPECT_THAT(out, ElementsAre(0, 10));
}

TEST(MapResultsTest, ValidateMapOptionsMessages) {
  try {
    ValidateMapOptions(Options(0, 0));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "chunksize must be >= 1");
  }
  try {
    ValidateMapOptions(Options(1, -1));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "buffersize must be >= 0");
  }
}

// ---- internal::InvokeMapItem / RunMapChunk ----------------------------------------------------

TEST(MapInternalsTest, SpreadsTuplesAndPairsWhenTheFunctionTakesTheirElements) {
  auto add = [](int a, int b) { return a + b; };
  EXPECT_EQ(internal::InvokeMapItem(add, std::pair(2, 3)), 5);
  EXPECT_EQ(internal::InvokeMapItem(add, std::tuple(4, 5)), 9);
  auto whole = [](std::pair<int, int> p) { return p.first * p.second; };
  EXPECT_EQ(internal::InvokeMapItem(whole, std::pair(2, 3)), 6);
  auto single = [](int x) { return -x; };
  EXPECT_EQ(internal::InvokeMapItem(single, 4), -4);
  static_assert(std::is_same_v<internal::MapResultOf<decltype(add), std::pair<int, int>>, int>);
  static_assert(std::is_same_v<internal::MapResultOf<decltype(single), int>, int>);
}

TEST(MapInternalsTest, RunMapChunkStopsAtTheFirstException) {
  int calls = 0;
  auto fn = [&calls](int x) {
    ++calls;
    if (x == 2) throw std::runtime_error("two");
    return x;
  };
  internal::MapItems<int> items{1, 2, 3};
  EXPECT_THROW(internal::RunMapChunk<int>(fn, items), std::runtime_error);
  EXPECT_EQ(calls, 2);
  internal::MapItems<int> fine{4, 5};
  EXPECT_THAT(internal::RunMapChunk<int>(fn, fine), ElementsAre(4, 5));
}

}  // namespace
}  // namespace cf
