#include "cf/core/compose.h"

#include <cstddef>
#include <exception>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace cf::internal {

void ThrowInvalidComposeInput(const char* function, std::size_t position) {
  throw std::invalid_argument(absl::StrCat(
      function, ": the future at position ", position,
      " is invalid (default-constructed or moved-from)"));
}

std::exception_ptr EmptyWhenAnyError() {
  return std::make_exception_ptr(std::invalid_argument("cf::WhenAny of no futures"));
}

}  // namespace cf::internal
