// tools/bench/thread_pool_peers.h — thread_pool_benchmark's settings and the libraries it
// compares, each behind one shape: Submit(fn) -> a future; Get(future) waits for it (oneTBB,
// which has no futures: Run and WaitAll).
//
// Only thread_pool_benchmark's files include this; run_settings is set once in main(), before
// any benchmark is registered or a memory probe runs.
#ifndef CF_TOOLS_BENCH_THREAD_POOL_PEERS_H_
#define CF_TOOLS_BENCH_THREAD_POOL_PEERS_H_

#define BOOST_THREAD_VERSION 5
#define BOOST_THREAD_PROVIDES_EXECUTORS

#include <algorithm>
#include <cstdint>
#include <future>
#include <utility>

#include "benchmark/benchmark.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/asio/use_future.hpp"
#include "boost/thread/executors/basic_thread_pool.hpp"
#include "boost/thread/future.hpp"
#include "cf/thread_pool/thread_pool_executor.h"
#include "oneapi/tbb/task_arena.h"
#include "oneapi/tbb/task_group.h"

namespace cf::bench {


inline constexpr int kWorkers = 2;
inline constexpr int kNoopTasks = 200'000;
inline constexpr int kStdAsyncTasks = 20'000;
inline constexpr int kCpuTasks = 16;
inline constexpr uint64_t kSquaresPerTask = 4'000'000;
inline constexpr int kPendingTasks = 1'000'000;
inline constexpr int kSmokePendingTasks = 10'000;
inline constexpr int kSmokeLatencyRounds = 1'000;
inline constexpr char kSmokeFlag[] = "--cf_smoke";

// Set once in main(), before any benchmark is registered or memory probe runs.
struct RunSettings {
  bool smoke = false;                  // --cf_smoke
  bool command_line_min_time = false;  // --benchmark_min_time given: it replaces ours
};
inline RunSettings run_settings;

inline int PendingTasks() { return run_settings.smoke ? kSmokePendingTasks : kPendingTasks; }
inline int LatencyRounds(int rounds) {
  return run_settings.smoke ? std::min(rounds, kSmokeLatencyRounds) : rounds;
}

inline void Noop() {}

inline uint64_t SumOfSquares(uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    sum += i * i;
    benchmark::DoNotOptimize(sum);  // keep the loop: no closed form, no vectorization
  }
  return sum;
}

// ---- The libraries, behind one shape: Submit(fn) -> a future; Get(future) waits for it. ------

class Cf {
 public:
  static constexpr char kName[] = "Cf";
  explicit Cf(int workers) : pool_(workers) {}
  template <typename F>
  auto Submit(F fn) {
    return pool_.Submit(std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.Result();
  }

 private:
  cf::ThreadPoolExecutor pool_;
};

class Asio {
 public:
  static constexpr char kName[] = "Asio";
  explicit Asio(int workers) : pool_(workers) {}
  ~Asio() { pool_.join(); }
  template <typename F>
  auto Submit(F fn) {
    return boost::asio::post(pool_, boost::asio::use_future(std::move(fn)));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }

 private:
  boost::asio::thread_pool pool_;
};

class BoostExecutors {
 public:
  static constexpr char kName[] = "BoostExecutors";
  explicit BoostExecutors(int workers) : pool_(workers) {}
  template <typename F>
  auto Submit(F fn) {
    return boost::async(pool_, std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }

 private:
  boost::executors::basic_thread_pool pool_;
};

class StdAsync {
 public:
  static constexpr char kName[] = "StdAsync";
  explicit StdAsync(int /*workers: a thread per call*/) {}
  template <typename F>
  auto Submit(F fn) {
    return std::async(std::launch::async, std::move(fn));
  }
  template <typename Fut>
  static void Get(Fut& f) {
    f.get();
  }
};

// oneTBB has no futures: a task_group in an arena of `workers` threads (the caller takes one
// slot while it waits). Submit returns nothing; WaitAll waits for the group.
class Tbb {
 public:
  static constexpr char kName[] = "Tbb";
  explicit Tbb(int workers) : arena_(workers) {}
  template <typename F>
  void Run(F fn) {
    arena_.execute([&] { group_.run(std::move(fn)); });
  }
  void WaitAll() {
    arena_.execute([&] { group_.wait(); });
  }

 private:
  tbb::task_arena arena_;
  tbb::task_group group_;
};

}  // namespace cf::bench

#endif  // CF_TOOLS_BENCH_THREAD_POOL_PEERS_H_
