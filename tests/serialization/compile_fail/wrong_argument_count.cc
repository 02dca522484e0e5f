// Must not compile: two arguments for a one-parameter task.
#include "cf/serialization/task.h"

int Square(int x) { return x * x; }
CF_TASK(Square);
cf::TaskCall MakeCall() { return cf::TaskCall(&Square, 1, 2); }
