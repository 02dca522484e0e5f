// Result() on a temporary future of ThreadPoolExecutor::Submit (docs/semantics.md §1.5): the value
// is handed over by value, so it outlives the future, and a move-only one can be taken.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr absl::Duration kBound = absl::Seconds(60);

std::string MakeString() { return std::string(1000, 's'); }
std::vector<int> MakeVector() { return std::vector<int>(100, 2); }

// `f` once its task has returned and the worker has dropped its reference to the shared state:
// with one worker, a task submitted after f's runs only then. The returned future is then the
// state's last reference, as a temporary's is once the worker is done.
template <typename T>
Future<T> Settled(ThreadPoolExecutor& pool, Future<T> f) {
  pool.Submit([] {}).Result(kBound);
  return f;
}

// Before: `s` and the loop's range referred into the freed shared state (ASan:
// heap-use-after-free).
TEST(ThreadPoolResultByValueTest, ResultOfATemporaryFutureOutlivesIt) {
  ThreadPoolExecutor pool(1);
  const std::string& s = Settled(pool, pool.Submit(MakeString)).Result();
  EXPECT_EQ(s, MakeString());
  int sum = 0;
  for (int v : Settled(pool, pool.Submit(MakeVector)).Result()) sum += v;
  EXPECT_EQ(sum, 200);
  // The same without waiting for the worker first (whichever reference goes last).
  for (int i = 0; i < 100; ++i) {
    const std::string& t = pool.Submit(MakeString).Result(kBound);
    ASSERT_EQ(t, MakeString());
    int total = 0;
    for (int v : pool.Submit(MakeVector).Result(kBound)) total += v;
    ASSERT_EQ(total, 200);
  }
}

std::unique_ptr<int> MakeUnique(int v) { return std::make_unique<int>(v); }

// Before: a compile error (the const& overload cannot copy a std::unique_ptr). The worker's own
// reference to the state is not a handle, so the temporary is always the last handle, however
// the worker and this thread interleave.
TEST(ThreadPoolResultByValueTest, MoveOnlyResultOfATemporaryFuture) {
  ThreadPoolExecutor pool(2);
  for (int i = 0; i < 1000; ++i) {
    std::unique_ptr<int> p = pool.Submit(MakeUnique, i).Result(kBound);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(*p, i);
  }
  Future<std::unique_ptr<int>> f = pool.Submit(MakeUnique, 7);
  Future<std::unique_ptr<int>> copy = f;
  EXPECT_THROW(std::move(f).Result(kBound), InvalidStateError);
  copy = Future<std::unique_ptr<int>>();
  EXPECT_EQ(*std::move(f).Result(kBound), 7);
}

}  // namespace
}  // namespace cf
