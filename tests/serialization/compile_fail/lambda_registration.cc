// Must not compile: CF_TASK needs a free function.
#include "cf/serialization/task.h"

auto add_one = [](int x) { return x + 1; };
CF_TASK(add_one);
