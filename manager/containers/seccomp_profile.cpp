// --security-opt seccomp=FILE: docker's profile format (archMap, names,
// includes/excludes) or the OCI linux.seccomp object, as linux.seccomp.
#include <sys/utsname.h>

#include <algorithm>

#include "libutil/strings.hpp"
#include "manager/containers/spec.hpp"

namespace berth::manager {

namespace {

using json::Value;

const char* host_arch() {
#if defined(__x86_64__)
    return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
    return "SCMP_ARCH_AARCH64";
#elif defined(__i386__)
    return "SCMP_ARCH_X86";
#elif defined(__arm__)
    return "SCMP_ARCH_ARM";
#else
    return "";
#endif
}

// docker's includes/excludes "arches" use Go's names.
std::string go_arch() {
    std::string a = host_arch();
    if (a == "SCMP_ARCH_X86_64") return "amd64";
    if (a == "SCMP_ARCH_AARCH64") return "arm64";
    if (a == "SCMP_ARCH_X86") return "386";
    if (a == "SCMP_ARCH_ARM") return "arm";
    return a;
}

bool kernel_at_least(const std::string& want) {
    struct utsname u {};
    if (::uname(&u) != 0) return false;
    auto parse = [](std::string_view s) {
        auto parts = split(s, '.');
        int major = parts.size() > 0 ? std::atoi(parts[0].c_str()) : 0;
        int minor = parts.size() > 1 ? std::atoi(parts[1].c_str()) : 0;
        return std::pair(major, minor);
    };
    return parse(u.release) >= parse(want);
}

std::vector<std::string> strings_of(const Value* v) {
    std::vector<std::string> out;
    if (v && v->is_array())
        for (const auto& i : v->items())
            if (i.is_string()) out.push_back(i.as_string());
    return out;
}

// A rule's includes (all must hold) and excludes (none may hold).
bool rule_applies(const Value& rule, const std::vector<std::string>& caps) {
    auto has_cap = [&](const std::string& c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); };
    auto has_arch = [&](const std::vector<std::string>& arches) {
        return std::find(arches.begin(), arches.end(), go_arch()) != arches.end();
    };
    if (const Value* inc = rule.find("includes"); inc && inc->is_object()) {
        for (const auto& c : strings_of(inc->find("caps")))
            if (!has_cap(c)) return false;
        if (auto a = strings_of(inc->find("arches")); !a.empty() && !has_arch(a)) return false;
        if (const Value* k = inc->find("minKernel"); k && k->is_string() && !kernel_at_least(k->as_string()))
            return false;
    }
    if (const Value* exc = rule.find("excludes"); exc && exc->is_object()) {
        for (const auto& c : strings_of(exc->find("caps")))
            if (has_cap(c)) return false;
        if (auto a = strings_of(exc->find("arches")); !a.empty() && has_arch(a)) return false;
        if (const Value* k = exc->find("minKernel"); k && k->is_string() && kernel_at_least(k->as_string()))
            return false;
    }
    return true;
}

}  // namespace

Result<json::Value> load_seccomp_profile(const std::string& path, const std::vector<std::string>& caps) {
    auto text = TRY_CTX(read_file(path), "seccomp profile");
    auto doc = json::parse(text);
    if (!doc) return Err("seccomp profile ", path, ": ", doc.error().message);
    auto fail = [&](const auto&... why) { return Err("seccomp profile ", path, ": ", why...); };
    if (!doc->is_object()) return fail("expected a JSON object");
    const Value* def = doc->find("defaultAction");
    if (!def || !def->is_string() || !def->as_string().starts_with("SCMP_ACT_"))
        return fail("defaultAction: expected an SCMP_ACT_ action");

    Value out = Value::object();
    out.set("defaultAction", *def);
    if (const Value* e = doc->find("defaultErrnoRet")) {
        if (!e->as_uint64()) return fail("defaultErrnoRet: expected a number");
        out.set("defaultErrnoRet", *e);
    }
    Value archs = Value::array();
    if (const Value* map = doc->find("archMap"); map && map->is_array()) {
        // docker: only the host's entry, with its sub-architectures.
        for (const auto& m : map->items()) {
            const Value* a = m.find("architecture");
            if (!a || !a->is_string() || a->as_string() != host_arch()) continue;
            archs.push(*a);
            for (const auto& s : strings_of(m.find("subArchitectures"))) archs.push(Value::string(s));
        }
    } else {
        for (const auto& s : strings_of(doc->find("architectures"))) archs.push(Value::string(s));
    }
    if (!archs.items().empty()) out.set("architectures", std::move(archs));
    for (const char* key : {"flags", "listenerPath", "listenerMetadata"})
        if (const Value* v = doc->find(key)) out.set(key, *v);

    Value syscalls = Value::array();
    if (const Value* list = doc->find("syscalls")) {
        if (!list->is_array()) return fail("syscalls: expected an array");
        for (size_t i = 0; i < list->items().size(); ++i) {
            const Value& r = list->items()[i];
            if (!r.is_object()) return fail("syscalls[", i, "]: expected an object");
            if (!rule_applies(r, caps)) continue;
            Value names = Value::array();
            if (const Value* n = r.find("name"); n && n->is_string()) names.push(*n);  // docker's old single name
            if (const Value* n = r.find("names")) {
                if (!n->is_array()) return fail("syscalls[", i, "].names: expected an array");
                for (const auto& s : n->items()) {
                    if (!s.is_string()) return fail("syscalls[", i, "].names: expected strings");
                    names.push(s);
                }
            }
            const Value* action = r.find("action");
            if (!action || !action->is_string() || !action->as_string().starts_with("SCMP_ACT_"))
                return fail("syscalls[", i, "].action: expected an SCMP_ACT_ action");
            if (names.items().empty()) continue;
            Value rule = Value::object();
            rule.set("names", std::move(names));
            rule.set("action", *action);
            for (const char* key : {"errnoRet", "args"})
                if (const Value* v = r.find(key); v && !v->is_null()) rule.set(key, *v);
            syscalls.push(std::move(rule));
        }
    }
    out.set("syscalls", std::move(syscalls));
    return out;
}

}  // namespace berth::manager
