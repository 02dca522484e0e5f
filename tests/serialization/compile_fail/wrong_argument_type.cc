// Must not compile: a std::string argument for an int parameter.
#include <string>

#include "cf/serialization/task.h"

int Square(int x) { return x * x; }
CF_TASK(Square);
cf::TaskCall MakeCall() { return cf::TaskCall(&Square, std::string("7")); }
