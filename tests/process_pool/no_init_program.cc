// A program that forgets cf::InitProcessPool in main(), used as Options::worker_binary.
// Built twice: with CF_NO_INIT_MAKES_POOL it reaches a ProcessPoolExecutor of its own (which must
// make it exit instead of starting more processes: no fork bomb); without, it just returns.
#include "cf/process_pool/process_pool_executor.h"

int main() {
#ifdef CF_NO_INIT_MAKES_POOL
  cf::ProcessPoolExecutor pool({.max_workers = 1, .start_method = cf::StartMethod::kSpawn});
  pool.Shutdown();
#endif
  return 0;
}
