// Must not compile: a task parameter of a type with no serialize().
#include "cf/serialization/task.h"

struct Opaque {
  int x = 0;
};
int UseOpaque(Opaque o) { return o.x; }
CF_TASK(UseOpaque);
