// The process pool under chaos (issue 14): mixed Submit and Map with timeouts, cancels and
// payloads of every size, while a second thread SIGKILLs and SIGSTOPs (then SIGCONTs) random
// workers — under WorkerDeath::kFailTask and kRetryTask, for every start method. Every future
// must end, none with a wrong value or an error the policy does not allow; afterwards no
// descriptor, child process or thread is left over.
//
// CF_SOAK_SECONDS sets each case's length (default 5 s; the README's long run uses 60).
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/process_tasks.h"

namespace cf::testing {
namespace {

constexpr absl::Duration kBound = absl::Seconds(120);

absl::Duration SoakLength() {
  const char* text = std::getenv("CF_SOAK_SECONDS");
  const int seconds = text != nullptr ? std::atoi(text) : 5;
  return absl::Seconds(seconds > 0 ? seconds : 5);
}

int CountEntries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// Children of every thread of this process, as the kernel lists them.
int CountChildren() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(absl::StrCat("/proc/self/task/", e->d_name, "/children"));
      int pid;
      while (in >> pid) ++n;
    }
    closedir(d);
  }
  return n;
}

std::vector<std::uint8_t> Bytes(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

// What a call may end with under the policy: its value, or one of these.
bool Allowed(std::exception_ptr e, bool timed) {
  try {
    std::rethrow_exception(e);
  } catch (const TaskTimeoutError&) {
    return timed;
  } catch (const WorkerDiedError&) {
    return true;
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "a non-std exception";
  }
}

// How a future ended: null (a value), its exception, or CancelledError; throws TimeoutError if
// it has not ended within kBound.
template <typename F>
std::exception_ptr Outcome(const F& f) {
  try {
    return f.Exception(kBound);
  } catch (const CancelledError&) {
    return std::current_exception();
  }
}

struct Expectation {
  std::variant<Future<int>, Future<std::vector<std::uint8_t>>> future;
  std::variant<int, std::vector<std::uint8_t>> value;
  bool timed = false;
  bool hangs = false;  // never returns: must end with an error
};

class SoakTest : public ::testing::TestWithParam<std::tuple<StartMethod, WorkerDeath>> {};

std::string Name(const ::testing::TestParamInfo<std::tuple<StartMethod, WorkerDeath>>& info) {
  return absl::StrCat(MethodName(std::get<0>(info.param)),
                      std::get<1>(info.param) == WorkerDeath::kFailTask ? "FailTask"
                                                                        : "RetryTask");
}

#if !CF_TEST_KFORK
INSTANTIATE_TEST_SUITE_P(Chaos, SoakTest,
                         ::testing::Combine(::testing::Values(StartMethod::kSpawn,
                                                              StartMethod::kForkServer),
                                            ::testing::Values(WorkerDeath::kFailTask,
                                                              WorkerDeath::kRetryTask)),
                         Name);
#else
INSTANTIATE_TEST_SUITE_P(Chaos, SoakTest,
                         ::testing::Combine(::testing::Values(StartMethod::kFork,
                                                              StartMethod::kSpawn,
                                                              StartMethod::kForkServer),
                                            ::testing::Values(WorkerDeath::kFailTask,
                                                              WorkerDeath::kRetryTask)),
                         Name);
#endif

TEST_P(SoakTest, EveryFutureEndsRightAndNothingIsLeftOver) {
  // The spare fork server InitProcessPool started is a child until the first kForkServer pool
  // takes it: have it taken before counting.
  ProcessPoolExecutor({.max_workers = 1, .start_method = StartMethod::kForkServer})
      .Submit(&Identity, 0)
      .Result(kBound);
  const int fds_before = CountEntries("/proc/self/fd");
  const int threads_before = CountEntries("/proc/self/task");
  const int children_before = CountChildren();
  std::mt19937 rng(std::random_device{}());
  // Calls in flight, oldest first; each is checked (and its payloads freed) once 64 newer ones
  // follow it, which also bounds the backlog.
  std::deque<Expectation> expectations;
  int values = 0;
  auto check = [&values](const Expectation& x) {
    std::visit(
        [&](const auto& f) {
          std::exception_ptr e;
          ASSERT_NO_THROW(e = Outcome(f)) << "a future never ended";
          if (e != nullptr) {
            EXPECT_TRUE(Allowed(e, x.timed)) << Describe(e);
            return;
          }
          ASSERT_FALSE(x.hangs) << "a call that never returns returned";
          using V = std::decay_t<decltype(f.Result())>;
          EXPECT_TRUE(f.Result() == std::get<V>(x.value)) << "a wrong value";
          ++values;
        },
        x.future);
  };
  std::vector<std::pair<std::vector<int>, MapResults<int>>> maps;
  int64_t calls = 0;
  {
    ProcessPoolExecutor::Options options;
    options.max_workers = 2;
    options.start_method = std::get<0>(GetParam());
    options.on_worker_death = std::get<1>(GetParam());
    options.max_retries = 2;
    options.kill_grace = absl::Milliseconds(200);
    ProcessPoolExecutor pool(options);
    // How long a worker takes to get ready here (a sanitizer build's spawned worker: a few
    // hundred ms): the chaos thread kills only workers alive three times that long, since one
    // killed before it is ready counts as one that cannot start, and three of those in a row
    // break the pool by design (worker_death.h). Stops go to any worker.
    const absl::Time before_start = absl::Now();
    ASSERT_EQ(pool.Submit(&Identity, 1).Result(kBound), 1);
    const absl::Duration ready_age =
        std::max(absl::Milliseconds(100), 3 * (absl::Now() - before_start));

    std::atomic<bool> stop{false};
    std::thread chaos([&] {
      std::mt19937 chaos_rng(std::random_device{}());
      std::map<pid_t, absl::Time> first_seen;
      while (!stop.load()) {
        absl::SleepFor(absl::Milliseconds(20 + chaos_rng() % 80));
        std::vector<pid_t> pids = pool.worker_pids();
        if (pids.empty()) continue;
        const absl::Time now = absl::Now();
        for (pid_t pid : pids) first_seen.emplace(pid, now);
        const pid_t victim = pids[chaos_rng() % pids.size()];
        const bool ready = now - first_seen[victim] >= ready_age;
        if (!ready || chaos_rng() % 3 == 0) {
          kill(victim, SIGSTOP);
          absl::SleepFor(absl::Milliseconds(chaos_rng() % 50));
          kill(victim, SIGCONT);
        } else {
          kill(victim, SIGKILL);
        }
      }
    });

    // Stops and joins the chaos thread however the loop below ends.
    struct StopChaos {
      std::atomic<bool>& stop;
      std::thread& chaos;
      ~StopChaos() {
        stop.store(true);
        if (chaos.joinable()) chaos.join();
      }
    } stop_chaos{stop, chaos};
    const absl::Time end = absl::Now() + SoakLength();
    while (absl::Now() < end) {
      // Of 30: 14 small calls, 6 echoes, 1 call that hangs (its timeout ends its worker; one
      // time in 10, else a small call: the chaos thread should get to kill workers too), 3
      // Maps, 6 cancels.
      int what = static_cast<int>(rng() % 30);
      if (what == 20 && rng() % 10 != 0) what = 0;
      const int i = static_cast<int>(rng() % 1000);
      Expectation x;
      if (what < 14) {
        if (rng() % 2 == 0) {
          x.future = pool.Submit(&Identity, i);
        } else {
          x.future = pool.SubmitWith({.timeout = absl::Seconds(20)}, &Identity, i);
          x.timed = true;
        }
        x.value = i;
      } else if (what < 20) {
        // Small, ring-sized and arena-sized payloads.
        const std::size_t sizes[] = {0, 100, 70'000, 300'000, 2'000'000};
        std::vector<std::uint8_t> data = Bytes(sizes[rng() % 5], static_cast<std::uint8_t>(i));
        x.future = pool.Submit(&Echo, data);
        x.value = std::move(data);
      } else if (what < 21) {
        x.future = pool.SubmitWith({.timeout = absl::Milliseconds(50)}, &HangForever, 0);
        x.timed = true;
        x.hangs = true;
      } else if (what < 24) {
        std::vector<int> inputs;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 40); ++k) inputs.push_back(k + i);
        const int chunksize = 1 + static_cast<int>(rng() % 8);
        MapResults<int> results =
            pool.Map(&Identity, inputs, {.timeout = kBound, .chunksize = chunksize});
        maps.emplace_back(std::move(inputs), std::move(results));
        ++calls;
        continue;
      } else {
        // Cancel a recent call (it may have started, or finished: either answer is fine).
        if (!expectations.empty()) {
          const Expectation& recent =
              expectations[expectations.size() - 1 - rng() % std::min<size_t>(
                                                                expectations.size(), 8)];
          std::visit([](const auto& f) { f.Cancel(); }, recent.future);
        }
        continue;
      }
      expectations.push_back(std::move(x));
      ++calls;
      if (expectations.size() > 64) {
        check(expectations.front());
        expectations.pop_front();
      }
    }
    stop.store(true);
    chaos.join();

    for (const Expectation& x : expectations) check(x);
    for (auto& [inputs, results] : maps) {
      std::size_t k = 0;
      try {
        for (int v : results) {
          ASSERT_LT(k, inputs.size());
          EXPECT_EQ(v, inputs[k]) << "a wrong Map value";
          ++k;
        }
        EXPECT_EQ(k, inputs.size());
      } catch (...) {
        EXPECT_TRUE(Allowed(std::current_exception(), false))
            << Describe(std::current_exception());
      }
    }
    maps.clear();  // cancels what is left of a Map that ended early
    EXPECT_TRUE(pool.Shutdown({.wait = true, .timeout = kBound}));
    const ExecutorStats stats = pool.stats();
    EXPECT_GE(stats.submitted, calls);
    EXPECT_EQ(stats.queued, 0);
    EXPECT_EQ(stats.submitted, stats.completed + stats.failed + stats.cancelled);
    std::printf("%lld calls (%d values), %lld restarts, %lld timeouts, %lld failed, %lld "
                "cancelled\n",
                static_cast<long long>(stats.submitted), values,
                static_cast<long long>(stats.worker_restarts),
                static_cast<long long>(stats.task_timeouts),
                static_cast<long long>(stats.failed), static_cast<long long>(stats.cancelled));
    EXPECT_GT(values, 0);
  }
  EXPECT_EQ(CountChildren(), children_before);
  EXPECT_EQ(CountEntries("/proc/self/fd"), fds_before);
  EXPECT_EQ(CountEntries("/proc/self/task"), threads_before);
  // Every call slot is free again: no payload holds one, no worker may still write in one.
  for (int slot = 0; slot < internal::CallPayloadAllocator::kSlots; ++slot) {
    EXPECT_FALSE(internal::CallPayloadAllocator::Get()->IsHeld(slot)) << slot;
    EXPECT_FALSE(internal::CallPayloadAllocator::Get()->IsLent(slot)) << slot;
  }
}

}  // namespace
}  // namespace cf::testing
