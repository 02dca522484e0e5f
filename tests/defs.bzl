"""cf_cc_test: a cc_test with the settings every cf test shares."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def cf_cc_test(name, deps = [], **kwargs):
    """A cc_test that also links cf's TSan suppressions for abseil's known false positives."""
    cc_test(
        name = name,
        deps = deps + ["//tests:tsan_suppressions"],
        **kwargs
    )
