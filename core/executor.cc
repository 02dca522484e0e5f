#include "cf/core/executor.h"

#include <stdexcept>

namespace cf {

void ValidateMapOptions(const MapOptions& options) {
  if (options.chunksize < 1) throw std::invalid_argument("chunksize must be >= 1");
  if (options.buffersize < 0) throw std::invalid_argument("buffersize must be >= 0");
}

}  // namespace cf
