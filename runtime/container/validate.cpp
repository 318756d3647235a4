#include "runtime/container/validate.hpp"

#include <sys/stat.h>

#include <cstring>

#include "libutil/strings.hpp"
#include "runtime/linux/process.hpp"

namespace berth::runtime {

namespace {
constexpr const char* kFile = "config.json";
}

Result<std::string> validate_spec(const oci::Spec& spec, const std::string& bundle) {
    if (!spec.has_root || spec.root.path.empty()) return Err(kFile, ": root.path: missing");
    std::string rootfs = spec.root.path[0] == '/' ? clean_path(spec.root.path)
                                                  : clean_path(bundle + "/" + spec.root.path);
    struct stat st;
    if (::stat(rootfs.c_str(), &st) < 0)
        return Err(kFile, ": root.path ", quote(spec.root.path), ": ", rootfs, ": ", std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return Err(kFile, ": root.path ", quote(spec.root.path), ": ", rootfs, ": not a directory");
    if (!spec.process) return Err(kFile, ": process: missing");

    auto has = [&](const char* t) { return spec.find_namespace(t) != nullptr; };
    if (!has("mount")) {
        // The host's mount namespace (the spec's "inherit"): mounts land under
        // the rootfs on the host and delete removes them. Changing the root
        // mount's flags or propagation would change the host's: refused.
        if (spec.root.readonly) return Err(kFile, ": root.readonly: needs a mount namespace in linux.namespaces");
        if (spec.linux && !spec.linux->rootfs_propagation.empty())
            return Err(kFile, ": linux.rootfsPropagation: needs a mount namespace in linux.namespaces");
    }
    if (!spec.hostname.empty() && !has("uts"))
        return Err(kFile, ": hostname ", quote(spec.hostname), ": needs a uts namespace in linux.namespaces");
    if (!spec.domainname.empty() && !has("uts"))
        return Err(kFile, ": domainname ", quote(spec.domainname), ": needs a uts namespace in linux.namespaces");
    if (spec.linux) {
        auto& l = *spec.linux;
        auto* user = spec.find_namespace("user");
        bool new_user = user && user->path.empty();
        if (new_user && (l.uid_mappings.empty() || l.gid_mappings.empty()))
            return Err(kFile, ": linux.uidMappings/gidMappings: required with a new user namespace");
        if (!user && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
            return Err(kFile, ": linux.uidMappings: given without a user namespace");
        auto* time = spec.find_namespace("time");
        if (!l.time_offsets.empty() && !(time && time->path.empty()))
            return Err(kFile, ": linux.timeOffsets: need a new time namespace");
        for (auto& [clock, off] : l.time_offsets)
            if (clock != "monotonic" && clock != "boottime")
                return Err(kFile, ": linux.timeOffsets: unknown clock ", quote(clock));
        if (!l.rootfs_propagation.empty()) {
            static const char* ok[] = {"private", "rprivate", "shared", "rshared", "slave",
                                       "rslave", "unbindable", "runbindable"};
            bool found = false;
            for (auto* o : ok) found |= l.rootfs_propagation == o;
            if (!found)
                return Err(kFile, ": linux.rootfsPropagation ", quote(l.rootfs_propagation), ": unknown propagation");
        }
    }
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        auto& m = spec.mounts[i];
        if (m.destination.empty() || m.destination[0] != '/')
            return Err(kFile, ": mounts[", i, "].destination ", quote(m.destination), ": must be an absolute path");
    }
    auto hooks_ok = [&](const std::vector<oci::Hook>& hs, const char* kind) -> Result<void> {
        for (size_t i = 0; i < hs.size(); ++i) {
            if (hs[i].path.empty() || hs[i].path[0] != '/')
                return Err(kFile, ": hooks.", kind, "[", i, "].path ", quote(hs[i].path), ": must be an absolute path");
            if (hs[i].timeout && *hs[i].timeout <= 0)
                return Err(kFile, ": hooks.", kind, "[", i, "].timeout ", *hs[i].timeout, ": must be positive");
        }
        return {};
    };
    TRY(hooks_ok(spec.hooks.prestart, "prestart"));
    TRY(hooks_ok(spec.hooks.create_runtime, "createRuntime"));
    TRY(hooks_ok(spec.hooks.create_container, "createContainer"));
    TRY(hooks_ok(spec.hooks.start_container, "startContainer"));
    TRY(hooks_ok(spec.hooks.poststart, "poststart"));
    TRY(hooks_ok(spec.hooks.poststop, "poststop"));
    if (auto r = validate_process(*spec.process, spec); !r) return Wrap(r.error(), kFile);
    return rootfs;
}

}  // namespace berth::runtime
