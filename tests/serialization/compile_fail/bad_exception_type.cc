// Must not compile: CF_EXCEPTION needs a std::exception constructible from a std::string.
#include "cf/serialization/exception.h"

struct NotAnException {
  explicit NotAnException(std::string) {}
};
CF_EXCEPTION(NotAnException);
