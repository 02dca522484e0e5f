// Must not compile: a raw pointer cannot cross a process boundary.
#include "cf/serialization/task.h"

int Deref(int* p) { return *p; }
CF_TASK(Deref);
