#include "cf/serialization/internal/demangle.h"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#include "absl/strings/str_format.h"

namespace cf::internal {

std::string Demangle(const char* mangled) {
  if (mangled == nullptr) return "";
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  if (status != 0 || demangled == nullptr) return mangled;
  return demangled.get();
}

std::string CurrentExceptionTypeName() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  return type == nullptr ? "" : TypeName(*type);
}

std::string DescribeFunction(const void* address) {
  Dl_info info;
  if (dladdr(address, &info) != 0 && info.dli_sname != nullptr && info.dli_saddr == address) {
    return absl::StrFormat("'%s' (%p)", Demangle(info.dli_sname), address);
  }
  return absl::StrFormat("the function at %p", address);
}

}  // namespace cf::internal
