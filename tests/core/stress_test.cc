// Stress: 4 threads complete or cancel 100k futures while AsCompleted and Wait consume them
// concurrently. Every future must be yielded exactly once, every waiter must return, and no
// result may be lost. Run under asan and tsan by .ci/run.
#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr int kFutures = 100'000;
constexpr int kProducers = 4;
constexpr absl::Duration kBound = absl::Seconds(120);

TEST(CoreStressTest, CompleteAndCancelWhileConsuming) {
  std::vector<Promise<int>> promises(kFutures);
  std::vector<Future<int>> futures;
  futures.reserve(kFutures);
  absl::flat_hash_map<Future<int>, int> index;
  for (int i = 0; i < kFutures; ++i) {
    futures.push_back(promises[i].GetFuture());
    index[futures.back()] = i;
  }

  absl::Notification start;
  std::atomic<int> cancelled_count{0};
  std::vector<char> was_cancelled(kFutures, 0);
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      std::mt19937 rng(t);
      start.WaitForNotificationWithTimeout(kBound);
      for (int i = t; i < kFutures; i += kProducers) {
        switch (rng() % 4) {
          case 0:
            if (futures[i].Cancel()) {
              was_cancelled[i] = 1;
              cancelled_count.fetch_add(1, std::memory_order_relaxed);
            }
            break;
          case 1:
            promises[i].SetRunningOrNotifyCancel();
            promises[i].SetResult(i);
            break;
          default:
            promises[i].SetResult(i);
        }
      }
    });
  }

  // Consumer 1: AsCompleted sees each future exactly once.
  std::vector<int> yielded_times(kFutures, 0);
  int yielded = 0;
  std::thread as_completed([&] {
    auto completed = AsCompleted(futures, kBound);
    start.Notify();
    for (const Future<int>& f : completed) {
      ++yielded_times[index.at(f)];
      ++yielded;
    }
  });
  // Consumer 2: Wait for all.
  size_t wait_done = 0;
  std::thread wait_all([&] {
    start.WaitForNotificationWithTimeout(kBound);
    wait_done = Wait(futures, kBound, ReturnWhen::kAllCompleted).done.size();
  });
  // Consumer 3: many FIRST_COMPLETED waits over small windows.
  std::atomic<int> first_completed_rounds{0};
  std::thread wait_first([&] {
    start.WaitForNotificationWithTimeout(kBound);
    for (int base = 0; base + 64 <= kFutures; base += 997) {
      std::vector<Future<int>> window(futures.begin() + base, futures.begin() + base + 64);
      if (!Wait(window, kBound, ReturnWhen::kFirstCompleted).done.empty()) {
        first_completed_rounds.fetch_add(1);
      }
    }
  });

  for (auto& p : producers) p.join();
  as_completed.join();
  wait_all.join();
  wait_first.join();

  EXPECT_EQ(yielded, kFutures);
  EXPECT_EQ(wait_done, static_cast<size_t>(kFutures));
  EXPECT_EQ(first_completed_rounds.load(), (kFutures - 64) / 997 + 1);
  int results = 0;
  for (int i = 0; i < kFutures; ++i) {
    ASSERT_EQ(yielded_times[i], 1) << "future " << i;
    ASSERT_TRUE(futures[i].Done());
    if (was_cancelled[i]) {
      ASSERT_TRUE(futures[i].Cancelled());
    } else {
      ASSERT_EQ(futures[i].Result(absl::ZeroDuration()), i);
      ++results;
    }
  }
  EXPECT_EQ(results + cancelled_count.load(), kFutures);
}

TEST(CoreStressTest, CancelRacesWithCompletion) {
  // Exactly one of Cancel() and TrySetResult() wins each race, and the loser sees it.
  constexpr int kRounds = 20'000;
  for (int round = 0; round < kRounds; ++round) {
    Promise<int> p;
    Future<int> f = p.GetFuture();
    bool cancel_won = false;
    std::thread canceller([&] { cancel_won = f.Cancel(); });
    const bool set_won = p.TrySetResult(round);
    canceller.join();
    ASSERT_NE(cancel_won, set_won) << "round " << round;
    ASSERT_TRUE(f.Done());
    if (set_won) {
      ASSERT_EQ(f.Result(), round);
    } else {
      ASSERT_TRUE(f.Cancelled());
    }
  }
}

TEST(CoreStressTest, BlockedWaitersRaceCompletion) {
  // A completion takes the future's lock only when someone waits: a Result() blocked in one
  // thread and a Wait() in another, both racing the completion, must always wake.
  constexpr int kRounds = 5'000;
  for (int round = 0; round < kRounds; ++round) {
    Promise<int> p;
    Future<int> f = p.GetFuture();
    absl::Notification go;
    int got = -1;
    bool waited = false;
    std::thread reader([&] {
      go.WaitForNotificationWithTimeout(kBound);
      got = f.Result(kBound);
    });
    std::thread waiter([&] {
      go.WaitForNotificationWithTimeout(kBound);
      waited = Wait(std::vector<Future<int>>{f}, kBound).not_done.empty();
    });
    go.Notify();
    if (round % 2 == 0) std::this_thread::yield();
    p.SetResult(round);
    reader.join();
    waiter.join();
    ASSERT_EQ(got, round);
    ASSERT_TRUE(waited) << "round " << round;
  }
}

TEST(CoreStressTest, CancelDuringCompletionAnswersConsistently) {
  // Cancel() racing a completion: false comes with the future already done (never a "pending"
  // future that refused to be cancelled), true with it cancelled.
  constexpr int kRounds = 20'000;
  for (int round = 0; round < kRounds; ++round) {
    Promise<std::vector<int>> p;
    Future<std::vector<int>> f = p.GetFuture();
    bool consistent = false;
    std::thread canceller([&] {
      const bool cancelled = f.Cancel();
      consistent = cancelled ? f.Cancelled() : f.Done() && !f.Cancelled();
    });
    p.TrySetResult(std::vector<int>(64, round));
    canceller.join();
    ASSERT_TRUE(consistent) << "round " << round;
  }
}

}  // namespace
}  // namespace cf
