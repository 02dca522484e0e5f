#!/usr/bin/env python3
"""Counts GoogleTest cases in the test.xml files under a bazel-testlogs folder.

Usage: count_tests.py TESTLOGS_DIR  → prints "PASSED FAILED" (two integers).
A test target that crashed before writing its XML still has Bazel's generated test.xml, which
records the failure, so a crash counts as a failed case.

Folders named run_<k>_of_<n> (or shard_<i>_of_<m>_run_<k>_of_<n>) are skipped: --runs_per_test
writes them, CI never passes it, and a later run without it leaves them behind, stale, beside the
target's own test.xml. Shard folders (shard_<i>_of_<m>) are counted: each holds its own cases.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

RERUN_DIR = re.compile(r"(shard_\d+_of_\d+_)?run_\d+_of_\d+")


def count(root_dir):
    passed = failed = 0
    for dirpath, dirnames, files in os.walk(root_dir, followlinks=True):
        dirnames[:] = [d for d in dirnames if not RERUN_DIR.fullmatch(d)]
        if "test.xml" not in files:
            continue
        try:
            tree = ET.parse(os.path.join(dirpath, "test.xml"))
        except ET.ParseError:
            failed += 1
            continue
        cases = list(tree.iter("testcase"))
        if not cases:
            # No case ran: an error before the first test (or a crash Bazel recorded).
            suites = list(tree.iter("testsuite"))
            if any(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in suites):
                failed += 1
            continue
        for case in cases:
            if case.get("result") == "skipped" or case.get("status") == "notrun":
                continue
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            else:
                passed += 1
    return passed, failed


if __name__ == "__main__":
    p, f = count(sys.argv[1])
    print(p, f)
