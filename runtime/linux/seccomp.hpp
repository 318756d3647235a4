// linux.seccomp through libseccomp. The filter is compiled by the runtime
// before the clone (so a bad profile is a create error naming the field) and
// loaded by the init as late as it may: just before it waits for `start`
// (with noNewPrivileges), or before dropping capabilities otherwise, since
// loading without no_new_privs needs CAP_SYS_ADMIN (runc's order).
#pragma once
#include <memory>

#include "libutil/error.hpp"
#include "libutil/oci/spec.hpp"

namespace berth::runtime {

class SeccompFilter {
public:
    SeccompFilter() = default;
    ~SeccompFilter();
    SeccompFilter(SeccompFilter&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
    SeccompFilter& operator=(SeccompFilter&&) = delete;

    bool empty() const { return ctx_ == nullptr; }
    Result<void> load() const;

    friend Result<SeccompFilter> compile_seccomp(const oci::Spec& spec);

private:
    void* ctx_ = nullptr;  // scmp_filter_ctx
};

// An empty filter when the spec has no linux.seccomp.
Result<SeccompFilter> compile_seccomp(const oci::Spec& spec);

}  // namespace berth::runtime
