// Must not compile: a lambda cannot be sent to another process.
#include "cf/serialization/task.h"

cf::TaskCall MakeCall() {
  return cf::TaskCall([](int x) { return x + 1; }, 1);
}
