// Internal: readable C++ type and function names.
#ifndef CF_SERIALIZATION_INTERNAL_DEMANGLE_H_
#define CF_SERIALIZATION_INTERNAL_DEMANGLE_H_

#include <string>
#include <typeinfo>

namespace cf::internal {

// "std::out_of_range" for typeid(std::out_of_range); the mangled name if demangling fails.
std::string Demangle(const char* mangled);
inline std::string TypeName(const std::type_info& type) { return Demangle(type.name()); }

// The demangled type of the exception being handled, inside a catch block; "" if none.
std::string CurrentExceptionTypeName();

// A description of the function at `address` for error messages: "'square(int)' (0x...)" when
// the dynamic symbol table names it, else "the function at 0x...".
std::string DescribeFunction(const void* address);

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_DEMANGLE_H_
