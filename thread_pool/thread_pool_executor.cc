#include "cf/thread_pool/thread_pool_executor.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/timeout.h"
#include "cf/thread_pool/internal/worker_pool.h"

namespace cf {
namespace {

std::shared_ptr<internal::WorkerPool> MakePool(ThreadPoolExecutor::Options options) {
  if (options.max_workers < 0) {
    throw std::invalid_argument("max_workers must be greater than 0");
  }
  internal::WorkerPool::Config config;
  config.max_workers =
      options.max_workers == 0 ? internal::DefaultMaxWorkers() : options.max_workers;
  config.thread_name_prefix = options.thread_name_prefix.empty()
                                  ? internal::NextDefaultThreadNamePrefix()
                                  : std::move(options.thread_name_prefix);
  config.initializer = std::move(options.initializer);
  return std::make_shared<internal::WorkerPool>(std::move(config));
}

// ThreadPoolExecutor(int): unlike Options::max_workers, 0 is not "the default" here.
ThreadPoolExecutor::Options OptionsWithWorkers(int max_workers) {
  if (max_workers <= 0) throw std::invalid_argument("max_workers must be greater than 0");
  ThreadPoolExecutor::Options options;
  options.max_workers = max_workers;
  return options;
}

}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(Options()) {}

ThreadPoolExecutor::ThreadPoolExecutor(int max_workers)
    : pool_(MakePool(OptionsWithWorkers(max_workers))) {}

ThreadPoolExecutor::ThreadPoolExecutor(Options options) : pool_(MakePool(std::move(options))) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  pool_->Orphan();  // first: a Map() iterated elsewhere stops quietly, as in Python
  pool_->Shutdown(/*wait=*/true, /*cancel_futures=*/false);
}

void ThreadPoolExecutor::Shutdown(bool wait, bool cancel_futures) {
  ShutdownOptions options;
  options.wait = wait;
  options.cancel_futures = cancel_futures;
  Shutdown(options);
}

bool ThreadPoolExecutor::Shutdown(const ShutdownOptions& options) {
  internal::WorkerPool::ShutdownRequest request;
  request.wait = options.wait;
  request.cancel_futures = options.cancel_futures;
  request.request_stop = options.request_stop;
  request.deadline = absl::Now() + options.timeout.duration();  // InfiniteFuture() for infinite
  // A thread cannot be ended: kTerminate and kKill ask the calls to stop instead.
  request.stop_at_deadline = options.on_timeout != ShutdownTimeoutAction::kReturn;
  return pool_->Shutdown(request);
}

bool ThreadPoolExecutor::AwaitTermination(Timeout timeout) {
  return pool_->AwaitTermination(absl::Now() + timeout.duration(), /*stop_at_deadline=*/false);
}

ExecutorStats ThreadPoolExecutor::stats() const { return pool_->stats(); }

namespace internal {

void RejectChunkTimeout(const MapOptions& options) {
  if (options.chunk_timeout.duration() != absl::InfiniteDuration()) {
    throw std::invalid_argument(
        "MapOptions::chunk_timeout is a process-pool option: cf::ThreadPoolExecutor cannot "
        "stop a running thread (take a std::stop_token in the task and use "
        "Future::RequestStop instead)");
  }
}

}  // namespace internal

bool ThreadPoolExecutor::WaitIdle(Timeout timeout) const {
  return pool_->WaitIdle(timeout.duration());
}

int ThreadPoolExecutor::max_workers() const { return pool_->max_workers(); }

}  // namespace cf
