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

void Gate::Arrive() {
  absl::MutexLock lock(&mu_);
  ++arrived_;
}

void Gate::Pass() {
  absl::MutexLock lock(&mu_);
  ++arrived_;
  mu_.AwaitWithTimeout(absl::Condition(&open_), kBound);
}

void Gate::AwaitArrivals(int n) {
  struct Want {
    const int* arrived;
    int n;
    bool Reached() const { return *arrived >= n; }
  };
  absl::MutexLock lock(&mu_);
  const Want want{&arrived_, n};
  Check(mu_.AwaitWithTimeout(absl::Condition(&want, &Want::Reached), kBound),
        "tasks reached the gate");
}

void Gate::Open() {
  absl::MutexLock lock(&mu_);
  open_ = true;
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
