// OCI hooks: each runs with the container state JSON on stdin, its args and
// env, and an optional timeout. A failing hook fails the operation (except
// poststart/poststop, where the caller only warns, as the spec says).
#pragma once
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// `kind` names the hook list in errors: "prestart hook #0 (/bin/false): exit status 1".
// Stops at the first failure (the operation fails).
Result<void> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                       const char* kind);
// poststart/poststop: a failure is a warning and the remaining hooks still run.
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind);

}  // namespace berth::runtime
