#include "cf/thread_pool/thread_pool_executor.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

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
  pool_->Shutdown(wait, cancel_futures);
}

bool ThreadPoolExecutor::WaitIdle(Timeout timeout) const {
  return pool_->WaitIdle(timeout.duration());
}

int ThreadPoolExecutor::max_workers() const { return pool_->max_workers(); }

}  // namespace cf
