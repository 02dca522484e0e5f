// Must not compile: a task result of a type with no serialize().
#include <functional>

#include "cf/serialization/task.h"

std::function<int()> MakeCallback(int x) {
  return [x] { return x; };
}
CF_TASK(MakeCallback);
