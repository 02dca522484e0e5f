// ThreadSanitizer suppressions compiled into the test binaries that link this library.
//
// abseil 20220623 built by GCC 12 with -fsanitize=thread reports a data race between a thread
// constructing its per-thread Waiter (absl::synchronization_internal::Waiter::Waiter, when its
// ThreadIdentity is created or reused) and another thread waking it (Waiter::Post) through a
// Mutex or Notification. The ordering between the two goes through abseil's internal atomics
// and fences; GCC's TSan does not model std::atomic_thread_fence (hence -Wno-tsan in .bazelrc),
// so it cannot see it. This is abseil's known TSan false positive (abseil/abseil-cpp#217,
// #760, #1239; google/sanitizers#953, where report_atomic_races=0 is the suggested workaround;
// this suppression is narrower). Every report from the tests is this one, inside abseil;
// nothing in cf's own code is suppressed. The core tests need it as well: link this library, or
// run them with TSAN_OPTIONS=suppressions=<a file with the line below>.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::Post\n";
}
#endif
