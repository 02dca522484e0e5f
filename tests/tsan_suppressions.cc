// ThreadSanitizer suppressions linked into every cf test (see //tests:defs.bzl).
//
// Abseil 20220623 false positive (abseil-cpp issue #1239, google/sanitizers#953): a thread's
// ThreadIdentity is allocated with mmap by that thread, and absl::Mutex later wakes it through
// Waiter::Post from another thread. The happens-before edge runs through absl::Mutex internals
// that TSan is told to ignore, so TSan pairs the atomic in Waiter::Post/Wait with the mmap. Only
// those two abseil-internal functions are suppressed; races in cf's code are still reported.
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*::synchronization_internal::Waiter::Post\n"
         "race:absl::*::synchronization_internal::Waiter::Wait\n";
}
