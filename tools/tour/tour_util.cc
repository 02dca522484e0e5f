#include <pthread.h>

#include <cstdio>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tools/tour/tour.h"

namespace cf::tour {

void SayLine(absl::string_view line) {
  const std::string text = absl::StrCat("   ", line, "\n");
  std::fputs(text.c_str(), stdout);
}

void Notice(absl::string_view text) { SayLine(absl::StrCat("Notice: ", text)); }

void Check(bool ok, absl::string_view what) {
  if (!ok) throw TourError(absl::StrCat("check failed: ", what));
}

std::string ThreadName() {
  char name[32] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

std::string What(const std::exception_ptr& error) {
  if (error == nullptr) return "";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "(not a std::exception)";
  }
}

}  // namespace cf::tour
