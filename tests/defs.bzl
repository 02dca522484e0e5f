"""cf_cc_test: a cc_test with the settings every cf test shares."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def cf_cc_test(name, deps = [], **kwargs):
    """A cc_test that also links //tools/sanitizers:tsan_suppressions.

    The suppressions cover abseil's known TSan false positive only (see that file); they are
    compiled into the test so `bazel test --config=tsan` needs no TSAN_OPTIONS.
    """
    cc_test(
        name = name,
        deps = deps + ["//tools/sanitizers:tsan_suppressions"],
        **kwargs
    )
