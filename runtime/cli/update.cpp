#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {

const std::vector<FlagSpec> kUpdateFlags = {
    {"resources", "r", true},     {"memory", nullptr, true},      {"memory-swap", nullptr, true},
    {"memory-reservation", nullptr, true}, {"kernel-memory", nullptr, true}, {"kernel-memory-tcp", nullptr, true},
    {"cpu-period", nullptr, true}, {"cpu-quota", nullptr, true},   {"cpu-share", nullptr, true},
    {"cpu-rt-period", nullptr, true}, {"cpu-rt-runtime", nullptr, true}, {"cpuset-cpus", nullptr, true},
    {"cpuset-mems", nullptr, true}, {"pids-limit", nullptr, true},  {"blkio-weight", nullptr, true},
    {"l3-cache-schema", nullptr, true}, {"mem-bw-schema", nullptr, true},
};

// "512m", "1g", "1024", "-1" like runc's RAMInBytes.
Result<int64_t> parse_bytes(const std::string& flag, const std::string& s) {
    if (s == "-1") return -1;
    std::string num = s;
    int64_t mult = 1;
    if (!num.empty()) {
        char c = static_cast<char>(std::tolower(static_cast<unsigned char>(num.back())));
        if (c == 'b' && num.size() > 1) {
            num.pop_back();
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(num.back())));
        }
        int64_t m = c == 'k' ? 1LL << 10 : c == 'm' ? 1LL << 20 : c == 'g' ? 1LL << 30 : c == 't' ? 1LL << 40 : 1;
        if (m != 1) {
            num.pop_back();
            mult = m;
        }
    }
    auto v = parse_u64(num);
    if (!v || *v > static_cast<uint64_t>(INT64_MAX / mult)) return Err("--", flag, " ", quote(s), ": not a size");
    return static_cast<int64_t>(*v) * mult;
}

Result<json::Value> number_flag(const Args& a, const std::string& flag, bool bytes) {
    std::string s = a.get(flag);
    if (bytes) return json::Value::number(TRY(parse_bytes(flag, s)));
    if (auto v = parse_i64(s)) return json::Value::number(*v);
    return Err("--", flag, " ", quote(s), ": not a number");
}

// Merges `from`'s members into `into` (objects merge one level deep, as
// runc copies each set field of the update onto the stored resources).
void merge(json::Value& into, const json::Value& from) {
    for (auto& [k, v] : from.members()) {
        const json::Value* old = into.find(k);
        if (old && old->is_object() && v.is_object()) {
            json::Value m = *old;
            for (auto& [k2, v2] : v.members()) m.set(k2, v2);
            into.set(k, std::move(m));
        } else {
            into.set(k, v);
        }
    }
}

}  // namespace

Result<json::Value> parse_resources_update(std::string_view text, const std::string& file) {
    auto doc = json::parse(text);
    if (!doc) return Wrap(doc.error(), file);
    if (!doc->is_object()) return Err(file, ": expected a JSON object (LinuxResources)");
    return std::move(*doc);
}

json::Value config_with_resources(json::Value config, const json::Value& update) {
    json::Value linux = config.find("linux") ? *config.find("linux") : json::Value::object();
    json::Value res = linux.find("resources") ? *linux.find("resources") : json::Value::object();
    merge(res, update);
    linux.set("resources", res);
    config.set("linux", std::move(linux));
    return config;
}

// update: changes the resources of a running container; what was set is
// kept in the state, so a later update starts from it.
int cmd_update(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, kUpdateFlags);
    if (!a) return fail(a.error());
    auto id = one_id(*a, "update");
    if (!id) return fail(id.error());
    auto st = load_state(g.root, *id);
    if (!st) return fail(st.error());
    if (container_status(*st) == Status::Stopped) return fail({0, "container not running"});

    auto update = json::Value::object();
    if (a->has("resources")) {
        std::string file = a->get("resources");
        auto text = read_file(file == "-" ? "/dev/stdin" : file);
        if (!text) return fail(text.error());
        auto doc = parse_resources_update(*text, file);
        if (!doc) return fail(doc.error());
        update = std::move(*doc);
    }
    enum Kind { Bytes, Number, Text };
    struct FlagField {
        const char* flag;
        const char* group;
        const char* key;
        Kind kind;
    };
    static const FlagField kFields[] = {
        {"memory", "memory", "limit", Bytes},
        {"memory-swap", "memory", "swap", Bytes},
        {"memory-reservation", "memory", "reservation", Bytes},
        {"kernel-memory-tcp", "memory", "kernelTCP", Bytes},
        {"cpu-period", "cpu", "period", Number},
        {"cpu-quota", "cpu", "quota", Number},
        {"cpu-share", "cpu", "shares", Number},
        {"cpu-rt-period", "cpu", "realtimePeriod", Number},
        {"cpu-rt-runtime", "cpu", "realtimeRuntime", Number},
        {"cpuset-cpus", "cpu", "cpus", Text},
        {"cpuset-mems", "cpu", "mems", Text},
        {"pids-limit", "pids", "limit", Number},
        {"blkio-weight", "blockIO", "weight", Number},
    };
    for (auto& f : kFields) {
        if (!a->has(f.flag)) continue;
        auto v = f.kind == Text ? Result<json::Value>(json::Value::string(a->get(f.flag)))
                                : number_flag(*a, f.flag, f.kind == Bytes);
        if (!v) return fail(v.error());
        json::Value group = update.find(f.group) ? *update.find(f.group) : json::Value::object();
        group.set(f.key, std::move(*v));
        update.set(f.group, std::move(group));
    }
    // Kernel memory limits are gone from current kernels (runc ignores them
    // too); Intel RDT is not supported.
    for (const char* f : {"kernel-memory", "l3-cache-schema", "mem-bw-schema"})
        if (a->has(f)) return fail({0, std::string("--") + f + ": not supported by this build"});
    if (update.find("devices")) return fail({0, "update: devices cannot be updated"});


    // The stored config with the merged resources.
    json::Value config = config_with_resources(st->config, update);
    auto spec = oci::parse_spec(config, "update");
    if (!spec) return fail(spec.error());
    // Devices are set at create; only what update may change is applied.
    if (spec->linux && spec->linux->resources) spec->linux->resources->devices.clear();
    if (auto r = Cgroup::from_json(st->cgroup).update(*spec); !r) return fail(r.error());
    st->config = std::move(config);
    if (auto r = save_state(*st); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::runtime
