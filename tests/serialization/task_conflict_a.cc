// One of two files that register different functions under the same task name "Twin", so that
// task_test can check how the registry reports the clash.
#include "cf/serialization/task.h"
#include "tests/serialization/task_conflict.h"

namespace conflict_a {
int Twin(int x) { return x + 1; }
CF_TASK(Twin);
}  // namespace conflict_a
