// ThreadSanitizer suppressions compiled into the test binaries that link this library (every
// cf_cc_test does). Two false positives, both in code TSan cannot see into; nothing in cf's own
// code is suppressed.
//
// 1. abseil 20220623 built by GCC 12 with -fsanitize=thread reports a data race between a
//    thread constructing its per-thread Waiter (absl::synchronization_internal::Waiter::Waiter,
//    when its ThreadIdentity is created or reused) and another thread waking it (Waiter::Post)
//    through a Mutex or Notification. The ordering between the two goes through abseil's
//    internal atomics and fences; GCC's TSan does not model std::atomic_thread_fence (hence
//    -Wno-tsan in .bazelrc), so it cannot see it. This is abseil's known TSan false positive
//    (abseil/abseil-cpp#217, #760, #1239; google/sanitizers#953, where report_atomic_races=0
//    is the suggested workaround; this suppression is narrower).
//
// 2. An exception object shared between threads through std::exception_ptr (a task's exception
//    stored in its future and rethrown by Result() elsewhere) is freed by whichever thread drops
//    the last reference. The reference count lives in libstdc++/libsupc++, which Debian does
//    not build with TSan, so TSan does not see the release/acquire pair that orders another
//    thread's earlier reads of the exception before the delete, and reports the delete as a
//    race. Only stacks through the two places that drop such a reference are suppressed:
//    exception_ptr's release and the end of a catch handler. A real use after free there would
//    still be caught by the ASan run.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*synchronization_internal::Waiter::Post\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n"
         "race:__cxa_end_catch\n";
}
#endif
