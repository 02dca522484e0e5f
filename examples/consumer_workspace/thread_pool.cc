// The thread pool: @cf//thread_pool (cf::ThreadPoolExecutor) and @cf//core:wait
// (cf::AsCompleted). Submit, Map in input order, and results as they complete.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/thread_pool/thread_pool_executor.h"

namespace {

long long SumTo(long long n) {
  long long total = 0;
  for (long long i = 1; i <= n; ++i) total += i;
  return total;
}

}  // namespace

int main() {
  cf::ThreadPoolExecutor pool({.max_workers = 2, .thread_name_prefix = "example"});

  cf::Future<long long> one = pool.Submit(SumTo, 1000);
  std::printf("Submit: SumTo(1000) = %lld\n", one.Result(std::chrono::seconds(10)));

  const std::vector<std::string> words = {"futures", "in", "C++"};
  std::printf("Map (input order):");
  for (int length : pool.Map([](const std::string& w) { return int(w.size()); }, words)) {
    std::printf(" %d", length);
  }
  std::printf("\n");

  std::vector<cf::Future<long long>> futures;
  for (long long n : {10, 100, 1000}) futures.push_back(pool.Submit(SumTo, n));
  long long total = 0;
  for (const cf::Future<long long>& f : cf::AsCompleted(futures, std::chrono::seconds(10))) {
    total += f.Result();
  }
  std::printf("AsCompleted: sum of the three results = %lld\n", total);
  return one.Result() == 500500 && total == 55 + 5050 + 500500 ? 0 : 1;
}
