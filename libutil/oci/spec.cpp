#include "libutil/oci/spec.hpp"

#include <concepts>
#include <set>
#include <utility>

#include "libutil/strings.hpp"

namespace berth::oci {

namespace {

using json::Value;

// Where a value sits in the document, rendered only when an error needs it:
// "linux.resources.devices[2].major". A Path points at its parent: name
// one only while its parent is alive (never from a temporary's operator/).
class Path {
public:
    Path() = default;
    Path operator/(std::string_view key) const { return Path(this, Kind::Field, key, 0); }
    Path operator[](size_t index) const { return Path(this, Kind::Index, {}, index); }
    // A key of a map (annotations, sysctl...): `sysctl["net.ipv4.ip_forward"]`.
    Path key(std::string_view k) const { return Path(this, Kind::Key, k, 0); }

    std::string str() const {
        std::string out = parent_ ? parent_->str() : std::string();
        switch (kind_) {
            case Kind::Root: break;
            case Kind::Field:
                if (!out.empty()) out.push_back('.');
                out.append(name_);
                break;
            case Kind::Index: out.append(cat("[", index_, "]")); break;
            case Kind::Key: out.append(cat("[", quote(name_), "]")); break;
        }
        return out;
    }

private:
    enum class Kind { Root, Field, Index, Key };
    Path(const Path* parent, Kind kind, std::string_view name, size_t index)
        : parent_(parent), kind_(kind), name_(name), index_(index) {}
    const Path* parent_ = nullptr;
    Kind kind_ = Kind::Root;
    std::string_view name_;
    size_t index_ = 0;
};

template <class... A>
std::unexpected<Error> fail(const Path& p, const A&... parts) {
    return Err(p.str(), ": ", parts...);
}

std::unexpected<Error> type_error(const Path& p, std::string_view want, const Value& got) {
    return fail(p, "expected ", want, ", got ", Value::type_name(got.type()));
}

// ---- scalars and containers -------------------------------------------------
// Every decoder follows Go's encoding/json: a null leaves the target at its
// zero value, a value of the wrong type is an error naming the field.

Result<void> decode(const Value& v, const Path& p, std::string& out) {
    if (v.is_null()) return {};
    if (!v.is_string()) return type_error(p, "string", v);
    out = v.as_string();
    return {};
}

Result<void> decode(const Value& v, const Path& p, bool& out) {
    if (v.is_null()) return {};
    if (!v.is_bool()) return type_error(p, "boolean", v);
    out = v.as_bool();
    return {};
}

template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

template <Integer T>
Result<void> decode(const Value& v, const Path& p, T& out) {
    if (v.is_null()) return {};
    if (!v.is_number()) return type_error(p, "integer", v);
    const std::string& raw = v.raw_number();
    if (raw.find_first_of(".eE") != std::string::npos)
        return fail(p, "expected integer, got ", raw);
    bool ok;
    if constexpr (std::is_signed_v<T>) {
        auto n = v.as_int64();
        ok = n && std::in_range<T>(*n);
        if (ok) out = static_cast<T>(*n);
    } else {
        auto n = v.as_uint64();
        ok = n && std::in_range<T>(*n);
        if (ok) out = static_cast<T>(*n);
    }
    if (!ok) return fail(p, "value ", raw, " out of range");
    return {};
}

template <class T>
Result<void> decode(const Value& v, const Path& p, std::optional<T>& out) {
    if (v.is_null()) return {};
    T t{};
    TRY(decode(v, p, t));
    out = std::move(t);
    return {};
}

template <class T>
Result<void> decode(const Value& v, const Path& p, std::vector<T>& out) {
    if (v.is_null()) return {};
    if (!v.is_array()) return type_error(p, "array", v);
    out.clear();
    out.reserve(v.items().size());
    for (size_t i = 0; i < v.items().size(); ++i) {
        T t{};
        TRY(decode(v.items()[i], p[i], t));
        out.push_back(std::move(t));
    }
    return {};
}

template <class T>
Result<void> decode(const Value& v, const Path& p, std::map<std::string, T>& out) {
    if (v.is_null()) return {};
    if (!v.is_object()) return type_error(p, "object", v);
    out.clear();
    for (const auto& [k, item] : v.members()) {
        T t{};
        TRY(decode(item, p.key(k), t));
        out[k] = std::move(t);
    }
    return {};
}

// An object member, when present.
template <class T>
Result<void> field(const Value& obj, const Path& p, std::string_view name, T& out) {
    const Value* m = obj.find(name);
    if (!m) return {};
    return decode(*m, p / name, out);
}

// Struct decoders start with this: false for null (nothing to decode),
// an error for anything but an object.
Result<bool> object(const Value& v, const Path& p) {
    if (v.is_null()) return false;
    if (!v.is_object()) return type_error(p, "object", v);
    return true;
}

// ---- process ----------------------------------------------------------------

Result<void> decode(const Value& v, const Path& p, ConsoleSize& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "height", out.height));
    TRY(field(v, p, "width", out.width));
    return {};
}

Result<void> decode(const Value& v, const Path& p, User& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "uid", out.uid));
    TRY(field(v, p, "gid", out.gid));
    TRY(field(v, p, "umask", out.umask));
    TRY(field(v, p, "additionalGids", out.additional_gids));
    TRY(field(v, p, "username", out.username));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Capabilities& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "bounding", out.bounding));
    TRY(field(v, p, "effective", out.effective));
    TRY(field(v, p, "inheritable", out.inheritable));
    TRY(field(v, p, "permitted", out.permitted));
    TRY(field(v, p, "ambient", out.ambient));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Rlimit& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "type", out.type));
    TRY(field(v, p, "hard", out.hard));
    TRY(field(v, p, "soft", out.soft));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Scheduler& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "policy", out.policy));
    TRY(field(v, p, "nice", out.nice));
    TRY(field(v, p, "priority", out.priority));
    TRY(field(v, p, "flags", out.flags));
    TRY(field(v, p, "runtime", out.runtime));
    TRY(field(v, p, "deadline", out.deadline));
    TRY(field(v, p, "period", out.period));
    return {};
}

Result<void> decode(const Value& v, const Path& p, IoPriority& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "class", out.io_class));
    TRY(field(v, p, "priority", out.priority));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Process& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "terminal", out.terminal));
    TRY(field(v, p, "consoleSize", out.console_size));
    TRY(field(v, p, "user", out.user));
    TRY(field(v, p, "args", out.args));
    TRY(field(v, p, "commandLine", out.command_line));
    TRY(field(v, p, "env", out.env));
    TRY(field(v, p, "cwd", out.cwd));
    TRY(field(v, p, "capabilities", out.capabilities));
    TRY(field(v, p, "rlimits", out.rlimits));
    TRY(field(v, p, "noNewPrivileges", out.no_new_privileges));
    TRY(field(v, p, "apparmorProfile", out.apparmor_profile));
    TRY(field(v, p, "oomScoreAdj", out.oom_score_adj));
    TRY(field(v, p, "selinuxLabel", out.selinux_label));
    TRY(field(v, p, "scheduler", out.scheduler));
    TRY(field(v, p, "ioPriority", out.io_priority));

    if (out.args.empty()) return fail(p / "args", "must not be empty");
    if (!out.cwd.starts_with('/'))
        return Err((p / "cwd").str(), " ", quote(out.cwd), ": must be an absolute path");
    return {};
}

// ---- root, mounts, hooks ----------------------------------------------------

Result<void> decode(const Value& v, const Path& p, Root& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "path", out.path));
    TRY(field(v, p, "readonly", out.readonly));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Mount::IdMap& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "containerID", out.container_id));
    TRY(field(v, p, "hostID", out.host_id));
    TRY(field(v, p, "size", out.size));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Mount& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "destination", out.destination));
    TRY(field(v, p, "type", out.type));
    TRY(field(v, p, "source", out.source));
    TRY(field(v, p, "options", out.options));
    TRY(field(v, p, "uidMappings", out.uid_mappings));
    TRY(field(v, p, "gidMappings", out.gid_mappings));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Hook& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "path", out.path));
    TRY(field(v, p, "args", out.args));
    TRY(field(v, p, "env", out.env));
    TRY(field(v, p, "timeout", out.timeout));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Hooks& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "prestart", out.prestart));
    TRY(field(v, p, "createRuntime", out.create_runtime));
    TRY(field(v, p, "createContainer", out.create_container));
    TRY(field(v, p, "startContainer", out.start_container));
    TRY(field(v, p, "poststart", out.poststart));
    TRY(field(v, p, "poststop", out.poststop));
    return {};
}

// ---- linux.resources --------------------------------------------------------

Result<void> decode(const Value& v, const Path& p, DeviceCgroupRule& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "allow", out.allow));
    TRY(field(v, p, "type", out.type));
    TRY(field(v, p, "major", out.major));
    TRY(field(v, p, "minor", out.minor));
    TRY(field(v, p, "access", out.access));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::Memory& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "limit", out.limit));
    TRY(field(v, p, "reservation", out.reservation));
    TRY(field(v, p, "swap", out.swap));
    TRY(field(v, p, "kernel", out.kernel));
    TRY(field(v, p, "kernelTCP", out.kernel_tcp));
    TRY(field(v, p, "swappiness", out.swappiness));
    TRY(field(v, p, "disableOOMKiller", out.disable_oom_killer));
    TRY(field(v, p, "useHierarchy", out.use_hierarchy));
    TRY(field(v, p, "checkBeforeUpdate", out.check_before_update));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::Cpu& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "shares", out.shares));
    TRY(field(v, p, "quota", out.quota));
    TRY(field(v, p, "burst", out.burst));
    TRY(field(v, p, "period", out.period));
    TRY(field(v, p, "realtimeRuntime", out.realtime_runtime));
    TRY(field(v, p, "realtimePeriod", out.realtime_period));
    TRY(field(v, p, "cpus", out.cpus));
    TRY(field(v, p, "mems", out.mems));
    TRY(field(v, p, "idle", out.idle));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::Pids& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "limit", out.limit));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::BlockIoDevice& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "major", out.major));
    TRY(field(v, p, "minor", out.minor));
    TRY(field(v, p, "weight", out.weight));
    TRY(field(v, p, "leafWeight", out.leaf_weight));
    TRY(field(v, p, "rate", out.rate));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::BlockIo& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "weight", out.weight));
    TRY(field(v, p, "leafWeight", out.leaf_weight));
    TRY(field(v, p, "weightDevice", out.weight_device));
    TRY(field(v, p, "throttleReadBpsDevice", out.throttle_read_bps_device));
    TRY(field(v, p, "throttleWriteBpsDevice", out.throttle_write_bps_device));
    TRY(field(v, p, "throttleReadIOPSDevice", out.throttle_read_iops_device));
    TRY(field(v, p, "throttleWriteIOPSDevice", out.throttle_write_iops_device));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::HugepageLimit& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "pageSize", out.page_size));
    TRY(field(v, p, "limit", out.limit));
    return {};
}

Result<void> decode(const Value& v, const Path& p, std::pair<std::string, uint32_t>& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "name", out.first));
    TRY(field(v, p, "priority", out.second));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::Network& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "classID", out.class_id));
    TRY(field(v, p, "priorities", out.priorities));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources::Rdma& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "hcaHandles", out.hca_handles));
    TRY(field(v, p, "hcaObjects", out.hca_objects));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Resources& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "devices", out.devices));
    TRY(field(v, p, "memory", out.memory));
    TRY(field(v, p, "cpu", out.cpu));
    TRY(field(v, p, "pids", out.pids));
    TRY(field(v, p, "blockIO", out.block_io));
    TRY(field(v, p, "hugepageLimits", out.hugepage_limits));
    TRY(field(v, p, "network", out.network));
    TRY(field(v, p, "rdma", out.rdma));
    TRY(field(v, p, "unified", out.unified));
    return {};
}

// ---- linux --------------------------------------------------------------------

Result<void> decode(const Value& v, const Path& p, Namespace& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "type", out.type));
    TRY(field(v, p, "path", out.path));
    return {};
}

Result<void> decode(const Value& v, const Path& p, IdMapping& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "containerID", out.container_id));
    TRY(field(v, p, "hostID", out.host_id));
    TRY(field(v, p, "size", out.size));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Device& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "type", out.type));
    TRY(field(v, p, "path", out.path));
    TRY(field(v, p, "major", out.major));
    TRY(field(v, p, "minor", out.minor));
    TRY(field(v, p, "fileMode", out.file_mode));
    TRY(field(v, p, "uid", out.uid));
    TRY(field(v, p, "gid", out.gid));
    return {};
}

Result<void> decode(const Value& v, const Path& p, std::pair<int64_t, uint32_t>& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "secs", out.first));
    TRY(field(v, p, "nanosecs", out.second));
    return {};
}

Result<void> decode(const Value& v, const Path& p, Seccomp& out) {
    if (!TRY(object(v, p))) return {};
    out.raw = v;
    return {};
}

Result<void> check_namespaces(const std::vector<Namespace>& namespaces, const Path& p) {
    static const std::set<std::string_view> kKnown = {"pid", "network", "mount",  "ipc",
                                                      "uts", "user",    "cgroup", "time"};
    std::set<std::string_view> seen;
    for (size_t i = 0; i < namespaces.size(); ++i) {
        const std::string& type = namespaces[i].type;
        Path item = p[i];
        Path tp = item / "type";
        if (!kKnown.contains(type))
            return Err(tp.str(), " ", quote(type), ": unknown namespace type");
        if (!seen.insert(type).second)
            return Err(tp.str(), " ", quote(type), ": duplicate namespace type");
    }
    return {};
}

Result<void> decode(const Value& v, const Path& p, Linux& out) {
    if (!TRY(object(v, p))) return {};
    TRY(field(v, p, "namespaces", out.namespaces));
    TRY(field(v, p, "uidMappings", out.uid_mappings));
    TRY(field(v, p, "gidMappings", out.gid_mappings));
    TRY(field(v, p, "timeOffsets", out.time_offsets));
    TRY(field(v, p, "devices", out.devices));
    TRY(field(v, p, "cgroupsPath", out.cgroups_path));
    TRY(field(v, p, "resources", out.resources));
    TRY(field(v, p, "rootfsPropagation", out.rootfs_propagation));
    TRY(field(v, p, "maskedPaths", out.masked_paths));
    TRY(field(v, p, "readonlyPaths", out.readonly_paths));
    TRY(field(v, p, "mountLabel", out.mount_label));
    TRY(field(v, p, "sysctl", out.sysctl));
    TRY(field(v, p, "seccomp", out.seccomp));

    if (const Value* pers = v.find("personality")) {
        Path pp = p / "personality";
        if (TRY(object(*pers, pp))) {
            TRY(field(*pers, pp, "domain", out.personality_domain));
            TRY(field(*pers, pp, "flags", out.personality_flags));
        }
    }
    if (const Value* rdt = v.find("intelRdt")) {
        Path rp = p / "intelRdt";
        if (TRY(object(*rdt, rp))) {
            out.has_intel_rdt = true;
            TRY(field(*rdt, rp, "closID", out.intel_rdt_clos_id));
        }
    }

    TRY(check_namespaces(out.namespaces, p / "namespaces"));
    return {};
}

// ---- the document -------------------------------------------------------------

Result<void> check_version(const std::string& version, const Path& p) {
    if (version.empty()) return fail(p, "missing");
    auto major = parse_u64(std::string_view(version).substr(0, version.find('.')));
    if (!major || *major != 1)
        return Err(p.str(), " ", quote(version),
                   ": unsupported major version (this runtime implements 1.x)");
    return {};
}

Result<Spec> decode_spec(const Value& doc) {
    Spec s;
    Path root;
    TRY(field(doc, root, "ociVersion", s.oci_version));
    TRY(check_version(s.oci_version, root / "ociVersion"));
    TRY(field(doc, root, "process", s.process));
    if (const Value* r = doc.find("root"); r && !r->is_null()) {
        TRY(decode(*r, root / "root", s.root));
        s.has_root = true;
    }
    TRY(field(doc, root, "hostname", s.hostname));
    TRY(field(doc, root, "domainname", s.domainname));
    TRY(field(doc, root, "mounts", s.mounts));
    TRY(field(doc, root, "hooks", s.hooks));
    TRY(field(doc, root, "annotations", s.annotations));
    TRY(field(doc, root, "linux", s.linux));
    return s;
}

}  // namespace

const Namespace* Spec::find_namespace(std::string_view type) const {
    if (!linux) return nullptr;
    for (const auto& ns : linux->namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

Result<Spec> parse_spec(const json::Value& doc, std::string_view file) {
    if (!doc.is_object()) return Err(file, ": expected an object at the top level");
    auto spec = decode_spec(doc);
    if (!spec) return Wrap(std::move(spec).error(), file);
    return spec;
}

Result<Spec> parse_spec(std::string_view text, std::string_view file) {
    auto doc = json::parse(text);
    if (!doc) return Wrap(std::move(doc).error(), file);
    return parse_spec(*doc, file);
}

Result<Process> parse_process(std::string_view text, std::string_view file) {
    auto doc = json::parse(text);
    if (!doc) return Wrap(std::move(doc).error(), file);
    auto wrapped = json::Value::object();
    wrapped.set("ociVersion", json::Value::string(kSpecVersion));
    wrapped.set("process", std::move(*doc));
    auto s = TRY(parse_spec(wrapped, file));
    if (!s.process) return Err(file, ": no process");
    return std::move(*s.process);
}

Result<Spec> load_spec(const std::string& bundle_dir) {
    auto text = TRY(read_file(path_join(bundle_dir, "config.json")));
    return parse_spec(text, "config.json");
}

}  // namespace berth::oci
