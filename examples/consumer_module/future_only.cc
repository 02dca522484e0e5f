// Futures alone: links @cf//core:future and nothing else of cf (no executor, no process code).
// A plain std::thread fulfils a cf::Promise; this thread reads the cf::Future, chains a
// continuation, and cancels a second future.
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include "cf/core/errors.h"  // cf::CancelledError; //core:future brings //core:errors along
#include "cf/core/future.h"

int main() {
  cf::Promise<int> promise;
  cf::Future<int> answer = promise.GetFuture();
  // Runs in the thread that completes `answer` (the producer below).
  cf::Future<int> doubled = answer.ThenValue([](int v) { return 2 * v; });

  std::thread producer([p = std::move(promise)]() mutable { p.SetResult(6 * 7); });
  const int value = answer.Result(std::chrono::seconds(10));  // blocks until set
  producer.join();
  std::printf("answer: %d, doubled: %d\n", value, doubled.Result());
  std::printf("%s\n", answer.DebugString().c_str());

  cf::Promise<int> never;
  cf::Future<int> pending = never.GetFuture();
  const bool cancelled = pending.Cancel();  // pending -> cancelled, as in Python
  bool threw = false;
  try {
    pending.Result();
  } catch (const cf::CancelledError&) {
    threw = true;
  }
  std::printf("cancelled: %s, Result() threw cf::CancelledError: %s\n",
              cancelled ? "yes" : "no", threw ? "yes" : "no");
  return value == 42 && doubled.Result() == 84 && cancelled && threw ? 0 : 1;
}
