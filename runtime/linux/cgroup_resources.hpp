// linux.resources written to the container's cgroup files: one function per
// controller, for v1 and cgroup2. A resource that cannot be applied here (its
// controller or file is missing, or it does not exist on that hierarchy) is
// an error naming the field, never silently dropped.
#pragma once
#include <vector>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"
#include "runtime/linux/cgroups.hpp"

namespace berth::runtime {

Result<void> apply_resources(const std::vector<CgroupDir>& dirs, CgroupLayout layout, const oci::Resources& res);

// The cgroup2 controllers `res` needs ("memory", "cpu", "io", ...).
std::vector<std::string> v2_controllers_needed(const oci::Resources& res);

}  // namespace berth::runtime
