// Checks of a parsed spec against the host and the bundle, before anything
// is created: every error names the field and value, and nothing is left
// behind because nothing was made yet.
#pragma once
#include <string>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

// Returns the absolute rootfs path. `bundle` is absolute.
Result<std::string> validate_spec(const oci::Spec& spec, const std::string& bundle);

}  // namespace berth::runtime
