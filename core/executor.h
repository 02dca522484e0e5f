// cf/core/executor.h — what both executors share: MapOptions (Python's map() keyword
// arguments) and, with the thread pool, the MapResults range that Map() returns.
#ifndef CF_CORE_EXECUTOR_H_
#define CF_CORE_EXECUTOR_H_

#include "absl/time/time.h"

namespace cf {

// Options of ThreadPoolExecutor::Map and ProcessPoolExecutor::Map.
//   timeout:    the whole iteration's budget, counted from the Map() call (Python's timeout);
//               when it runs out, iteration throws cf::TimeoutError and ends.
//   chunksize:  inputs per task (>= 1). The process pool sends one frame per chunk; the thread
//               pool runs one task per chunk.
//   buffersize: chunks in flight at once (>= 0). 0 (the default, Python's None) submits every
//               input when Map() is called; N > 0 submits N chunks and one more as each result
//               is consumed, so unbounded inputs work.
struct MapOptions {
  absl::Duration timeout = absl::InfiniteDuration();
  int chunksize = 1;
  int buffersize = 0;
};

// Throws std::invalid_argument("chunksize must be >= 1" / "buffersize must be >= 0") for
// options Map() cannot honour.
void ValidateMapOptions(const MapOptions& options);

}  // namespace cf

#endif  // CF_CORE_EXECUTOR_H_
