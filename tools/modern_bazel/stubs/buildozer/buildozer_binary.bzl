"""Stand-in for buildozer's buildozer_binary extension, which Bazel 7's bazel_tools declares for
`bazel mod tidy`. The check never runs that; the repository only has to be nameable."""

def _buildozer_binary_repo_impl(rctx):
    rctx.file("BUILD.bazel", "")

_buildozer_binary_repo = repository_rule(implementation = _buildozer_binary_repo_impl)

def _buildozer_binary_impl(_module_ctx):
    _buildozer_binary_repo(name = "buildozer_binary")

buildozer_binary = module_extension(implementation = _buildozer_binary_impl)
