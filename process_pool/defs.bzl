"""cf_worker_binary: a dedicated executable for ProcessPoolExecutor workers."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def cf_worker_binary(name, deps, **kwargs):
    """A program that only serves as a process-pool worker (kSpawn / kForkServer).

    Pass its path as ProcessPoolExecutor::Options::worker_binary. Its main() is cf's: it calls
    cf::InitProcessPool and runs the worker loop. `deps` must hold every CF_TASK the pool will
    submit (in cc_library targets with alwayslink = True, so the registrations are linked).

    Args:
      name: the binary's name.
      deps: libraries with the tasks' CF_TASK registrations.
      **kwargs: passed to cc_binary (visibility, testonly, ...).
    """
    cc_binary(
        name = name,
        deps = deps + [Label("//process_pool:worker_main")],
        **kwargs
    )
