#include "runtime/linux/systemd.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr uint64_t kInfinity = UINT64_MAX;
constexpr auto kJobTimeout = std::chrono::seconds(30);

bool valid_unit_part(const std::string& s) {
    // systemd's unit name characters (no escaping is done for the user).
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
    });
}

// Property writers: one (sv) element each.
void prop_u64(dbus::Writer& w, const char* name, uint64_t v) {
    w.begin_struct();
    w.string(name);
    w.variant("t");
    w.u64(v);
}

void prop_bool(dbus::Writer& w, const char* name, bool v) {
    w.begin_struct();
    w.string(name);
    w.variant("b");
    w.boolean(v);
}

void prop_string(dbus::Writer& w, const char* name, const std::string& v) {
    w.begin_struct();
    w.string(name);
    w.variant("s");
    w.string(v);
}

void prop_bytes(dbus::Writer& w, const char* name, const std::vector<uint8_t>& v) {
    w.begin_struct();
    w.string(name);
    w.variant("ay");
    auto a = w.begin_array(1);
    for (uint8_t b : v) w.byte(b);
    w.end_array(a);
}

}  // namespace

Result<std::string> expand_slice(const std::string& slice) {
    const std::string suffix = ".slice";
    if (slice.size() <= suffix.size() || !slice.ends_with(suffix) || slice.find('/') != std::string::npos)
        return Err("invalid slice name ", quote(slice));
    std::string base = slice.substr(0, slice.size() - suffix.size());
    if (base == "-") return std::string("/");
    std::string path, prefix;
    for (auto& part : split(base, '-')) {
        // "a--b.slice" and "-a.slice" are not slices.
        if (part.empty()) return Err("invalid slice name ", quote(slice));
        path += "/" + prefix + part + suffix;
        prefix += part + "-";
    }
    return path;
}

Result<SystemdUnit> systemd_unit(const std::string& cgroups_path, const std::string& id) {
    std::string slice, prefix, name;
    if (cgroups_path.empty()) {
        slice = "system.slice";
        prefix = "berth-runtime";
        name = id;
    } else {
        auto parts = split(cgroups_path, ':');
        if (parts.size() != 3)
            return Err("linux.cgroupsPath ", quote(cgroups_path),
                       ": expected \"slice:prefix:name\" with --systemd-cgroup");
        slice = parts[0].empty() ? "system.slice" : parts[0];
        prefix = parts[1];
        name = parts[2];
    }
    if (name.empty()) return Err("linux.cgroupsPath ", quote(cgroups_path), ": the unit name is empty");
    if (name.ends_with(".slice"))
        return Err("linux.cgroupsPath ", quote(cgroups_path),
                   ": a slice as the container's own unit is not supported (name a scope)");
    if (!valid_unit_part(prefix) || !valid_unit_part(name))
        return Err("linux.cgroupsPath ", quote(cgroups_path), ": not a valid systemd unit name");
    SystemdUnit u;
    u.slice = slice;
    u.name = prefix.empty() ? name + ".scope" : prefix + "-" + name + ".scope";
    auto sp = expand_slice(slice);
    if (!sp) return Wrap(sp.error(), "linux.cgroupsPath ", quote(cgroups_path));
    u.path = (*sp == "/" ? "" : *sp) + "/" + u.name;
    return u;
}

Result<std::vector<uint8_t>> cpu_list_mask(const std::string& list) {
    std::vector<uint8_t> mask;
    for (auto& item : split(list, ',')) {
        std::string_view t = trim(item);
        if (t.empty()) continue;
        auto dash = t.find('-');
        auto lo = parse_u64(t.substr(0, dash));
        auto hi = dash == std::string_view::npos ? lo : parse_u64(t.substr(dash + 1));
        if (!lo || !hi || *hi < *lo || *hi >= 8192) return Err("invalid cpu list ", quote(list));
        for (uint64_t c = *lo; c <= *hi; ++c) {
            if (mask.size() <= c / 8) mask.resize(c / 8 + 1, 0);
            mask[c / 8] |= static_cast<uint8_t>(1u << (c % 8));
        }
    }
    return mask;
}

void resource_properties(dbus::Writer& w, const oci::Resources& res, bool v2) {
    // The same choices as runc: the limits systemd knows as unit properties
    // (v2 names on cgroup2, the legacy ones on v1); everything else only in
    // the cgroup files, which systemd leaves alone in a delegated unit.
    if (auto& m = res.memory) {
        if (m->limit && *m->limit != 0)
            prop_u64(w, v2 ? "MemoryMax" : "MemoryLimit", *m->limit < 0 ? kInfinity : static_cast<uint64_t>(*m->limit));
        if (v2 && m->reservation && *m->reservation > 0) prop_u64(w, "MemoryLow", static_cast<uint64_t>(*m->reservation));
        if (v2 && m->swap && *m->swap != 0) {
            // cgroup2 counts swap alone, the spec counts memory+swap.
            uint64_t swap = kInfinity;
            if (*m->swap > 0 && m->limit && *m->limit > 0 && *m->swap >= *m->limit)
                swap = static_cast<uint64_t>(*m->swap - *m->limit);
            prop_u64(w, "MemorySwapMax", swap);
        }
    }
    if (auto& c = res.cpu) {
        if (c->shares && *c->shares) {
            uint64_t s = std::clamp<uint64_t>(*c->shares, 2, 262144);
            if (v2)
                prop_u64(w, "CPUWeight", 1 + ((s - 2) * 9999) / 262142);
            else
                prop_u64(w, "CPUShares", s);
        }
        if (c->quota && *c->quota > 0) {
            uint64_t period = c->period && *c->period ? *c->period : 100000;
            // systemd keeps the quota per second in 10 ms steps: round up,
            // as runc does (the exact value goes to the cgroup file).
            uint64_t per_sec = static_cast<uint64_t>(*c->quota) * 1000000 / period;
            if (per_sec % 10000) per_sec = (per_sec / 10000 + 1) * 10000;
            prop_u64(w, "CPUQuotaPerSecUSec", per_sec);
        } else if (c->quota && *c->quota < 0) {
            prop_u64(w, "CPUQuotaPerSecUSec", kInfinity);
        }
        if (c->period && *c->period) prop_u64(w, "CPUQuotaPeriodUSec", *c->period);
        if (v2 && !c->cpus.empty())
            if (auto mask = cpu_list_mask(c->cpus)) prop_bytes(w, "AllowedCPUs", *mask);
        if (v2 && !c->mems.empty())
            if (auto mask = cpu_list_mask(c->mems)) prop_bytes(w, "AllowedMemoryNodes", *mask);
    }
    if (res.pids && res.pids->limit != 0)
        prop_u64(w, "TasksMax", res.pids->limit < 0 ? kInfinity : static_cast<uint64_t>(res.pids->limit));
    if (res.block_io && res.block_io->weight) {
        uint64_t wt = std::clamp<uint64_t>(*res.block_io->weight, 10, 1000);
        if (v2)
            prop_u64(w, "IOWeight", 1 + (wt - 10) * 9999 / 990);
        else
            prop_u64(w, "BlockIOWeight", wt);
    }
}

Result<SystemdManager> SystemdManager::connect() {
    SystemdManager m;
    // As root, systemd's private socket needs no dbus-daemon; else the
    // system bus (DBUS_SYSTEM_BUS_ADDRESS of the unix:path= form, or its
    // default path).
    std::string priv = "/run/systemd/private";
    if (::geteuid() == 0 && ::access(priv.c_str(), F_OK) == 0) {
        auto c = dbus::Connection::open(priv, false);
        if (c) {
            // systemd sends its signals (JobRemoved) to every private
            // connection: no Subscribe needed (seen with systemd 252).
            m.bus_ = std::move(*c);
            return m;
        }
    }
    std::string bus = "/run/dbus/system_bus_socket";
    if (const char* a = std::getenv("DBUS_SYSTEM_BUS_ADDRESS"); a && std::string_view(a).starts_with("unix:path=")) {
        bus = a + 10;
        bus = bus.substr(0, bus.find(','));
    }
    auto c = dbus::Connection::open(bus, true);
    if (!c) {
        if (::access(priv.c_str(), F_OK) != 0 && ::access(bus.c_str(), F_OK) != 0)
            return Err("systemd cgroup driver: systemd is not running (no ", priv, " or ", bus, ")");
        return Wrap(c.error(), "systemd cgroup driver");
    }
    m.bus_ = std::move(*c);
    if (m.bus_.is_bus()) {
        // A bus routes signals only to those who ask.
        dbus::Writer w;
        w.string("type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',"
                 "member='JobRemoved'");
        TRY_CTX(m.bus_.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
                            w.data()),
                "systemd cgroup driver: AddMatch");
    }
    TRY_CTX(m.bus_.call(kDest, kPath, kManager, "Subscribe", "", ""), "systemd cgroup driver: Subscribe");
    return m;
}

Result<void> SystemdManager::wait_job(const std::string& job, const std::string& what) {
    auto sig = TRY_CTX(bus_.wait_signal(
                           kManager, "JobRemoved",
                           [&](const dbus::Message& m) {
                               if (m.signature != "uoss") return false;
                               dbus::Reader r(m.body, m.big_endian);
                               return r.u32() && r.object_path().value_or("") == job;
                           },
                           kJobTimeout),
                       what, ": waiting for systemd's job ", job);
    dbus::Reader r(sig.body, sig.big_endian);
    TRY(r.u32());
    TRY(r.object_path());
    TRY(r.string());
    std::string result = TRY(r.string());
    if (result != "done") return Err(what, ": systemd's job ended with \"", result, "\"");
    return {};
}

Result<void> SystemdManager::start_scope(const SystemdUnit& unit, pid_t pid, const oci::Resources* res, bool v2,
                                         const std::string& description) {
    dbus::Writer w;
    w.string(unit.name);
    w.string("replace");
    auto props = w.begin_array(8);
    prop_string(w, "Description", description);
    prop_string(w, "Slice", unit.slice);
    // Delegate: the container (and the runtime) own the cgroup's inside;
    // no default dependencies: the scope must not wait for (or stop with)
    // the boot's targets.
    prop_bool(w, "Delegate", true);
    prop_bool(w, "DefaultDependencies", false);
    w.begin_struct();
    w.string("PIDs");
    w.variant("au");
    auto pids = w.begin_array(4);
    w.u32(static_cast<uint32_t>(pid));
    w.end_array(pids);
    prop_bool(w, "MemoryAccounting", true);
    prop_bool(w, "CPUAccounting", true);
    prop_bool(w, "TasksAccounting", true);
    prop_bool(w, v2 ? "IOAccounting" : "BlockIOAccounting", true);
    if (res) resource_properties(w, *res, v2);
    w.end_array(props);
    auto aux = w.begin_array(8);  // a(sa(sv)): no auxiliary units
    w.end_array(aux);

    std::string what = cat("start systemd unit ", unit.name);
    auto reply = bus_.call(kDest, kPath, kManager, "StartTransientUnit", "ssa(sv)a(sa(sv))", w.data());
    if (!reply) return Wrap(reply.error(), what);
    dbus::Reader r(reply->body, reply->big_endian);
    std::string job = TRY_CTX(r.object_path(), what);
    return wait_job(job, what);
}

Result<void> SystemdManager::stop_unit(const std::string& name) {
    dbus::Writer w;
    w.string(name);
    w.string("replace");
    std::string what = cat("stop systemd unit ", name);
    auto reply = bus_.call(kDest, kPath, kManager, "StopUnit", "ss", w.data());
    if (!reply) {
        // Gone already: an empty scope is collected by systemd itself.
        if (reply.error().message.starts_with("org.freedesktop.systemd1.NoSuchUnit")) return {};
        return Wrap(reply.error(), what);
    }
    dbus::Reader r(reply->body, reply->big_endian);
    std::string job = TRY_CTX(r.object_path(), what);
    TRY(wait_job(job, what));
    // A failed unit stays loaded (and its name taken) until reset.
    dbus::Writer rw;
    rw.string(name);
    (void)bus_.call(kDest, kPath, kManager, "ResetFailedUnit", "s", rw.data(), std::chrono::seconds(2));
    return {};
}

Result<void> SystemdManager::set_properties(const std::string& name, const oci::Resources& res, bool v2) {
    dbus::Writer w;
    w.string(name);
    w.boolean(true);  // runtime: not written to /etc
    auto props = w.begin_array(8);
    resource_properties(w, res, v2);
    w.end_array(props);
    auto reply = bus_.call(kDest, kPath, kManager, "SetUnitProperties", "sba(sv)", w.data());
    if (!reply) return Wrap(reply.error(), "set properties of systemd unit ", name);
    return {};
}

}  // namespace berth::runtime
