// Two functions registered under one task name, "Twin" (task_conflict_a.cc, task_conflict_b.cc).
#ifndef TESTS_SERIALIZATION_TASK_CONFLICT_H_
#define TESTS_SERIALIZATION_TASK_CONFLICT_H_

namespace conflict_a {
int Twin(int x);
}  // namespace conflict_a
namespace conflict_b {
int Twin(int x);
}  // namespace conflict_b

#endif  // TESTS_SERIALIZATION_TASK_CONFLICT_H_
