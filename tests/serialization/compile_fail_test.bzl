"""cc_compile_fail_test: a test that passes when a C++ file fails to compile with given messages.

The compile runs at build time with the configured C++ toolchain, the file's deps' include paths
and the build's copts; it never fails the build. The test then checks that the compiler rejected
the file and printed every expected message (fixed strings).
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "CPP_COMPILE_ACTION_NAME")
load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _cc_compile_fail_test_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    compilation_context = cc_common.merge_cc_infos(
        cc_infos = [dep[CcInfo] for dep in ctx.attr.deps],
    ).compilation_context
    src = ctx.file.src
    variables = cc_common.create_compile_variables(
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        user_compile_flags = ctx.fragments.cpp.copts + ctx.fragments.cpp.cxxopts,
        source_file = src.path,
        include_directories = compilation_context.includes,
        quote_include_directories = compilation_context.quote_includes,
        system_include_directories = compilation_context.system_includes,
        preprocessor_defines = compilation_context.defines,
    )
    command_line = cc_common.get_memory_inefficient_command_line(
        feature_configuration = feature_configuration,
        action_name = CPP_COMPILE_ACTION_NAME,
        variables = variables,
    )
    env = cc_common.get_environment_variables(
        feature_configuration = feature_configuration,
        action_name = CPP_COMPILE_ACTION_NAME,
        variables = variables,
    )
    compiler = cc_common.get_tool_for_action(
        feature_configuration = feature_configuration,
        action_name = CPP_COMPILE_ACTION_NAME,
    )
    log = ctx.actions.declare_file(ctx.label.name + ".compiler_output.txt")
    ctx.actions.run_shell(
        inputs = depset([src], transitive = [compilation_context.headers, cc_toolchain.all_files]),
        outputs = [log],
        arguments = [log.path, compiler] + command_line + ["-fsyntax-only"],
        env = env,
        command = """
log="$1"; shift
if "$@" >"$log" 2>&1; then echo "CF_COMPILE_FAIL_TEST: the file compiled" >>"$log"; fi
exit 0
""",
        mnemonic = "CcCompileFailTest",
        progress_message = "Compiling %s, expecting errors" % src.short_path,
    )
    checks = "\n".join([
        "grep -qF -- %s \"$log\" || { echo 'missing expected compiler message:' %s; fail=1; }" %
        (repr(message), repr(message))
        for message in ctx.attr.expected_messages
    ])
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = """#!/bin/bash
log="{log}"
fail=0
if grep -qF 'CF_COMPILE_FAIL_TEST: the file compiled' "$log"; then
  echo "{src} compiled, but it must not"; fail=1
fi
{checks}
if [[ $fail -ne 0 ]]; then echo '--- compiler output ---'; cat "$log"; fi
exit $fail
""".format(log = log.short_path, src = src.short_path, checks = checks),
    )
    return [DefaultInfo(executable = script, runfiles = ctx.runfiles(files = [log]))]

cc_compile_fail_test = rule(
    implementation = _cc_compile_fail_test_impl,
    attrs = {
        "src": attr.label(allow_single_file = [".cc"], mandatory = True),
        "deps": attr.label_list(providers = [CcInfo]),
        "expected_messages": attr.string_list(mandatory = True, allow_empty = False),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    test = True,
)
