// The other "Twin" (see task_conflict_a.cc): the two files keep their CF_TASK lines at the same
// line number, which task_test checks.
#include "cf/serialization/task.h"
#include "tests/serialization/task_conflict.h"

namespace conflict_b {
int Twin(int x) { return x + 2; }
CF_TASK(Twin);
}  // namespace conflict_b
