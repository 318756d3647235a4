#include "runtime/linux/seccomp.hpp"

#include <seccomp.h>

#include <cctype>
#include <cstring>
#include <set>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {

constexpr const char* kField = "config.json: linux.seccomp";

const json::Value* member(const json::Value& o, const char* k) {
    auto v = o.find(k);
    return v && !v->is_null() ? v : nullptr;
}

Result<uint32_t> parse_action(const std::string& name, std::optional<uint32_t> errno_ret, const std::string& where) {
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY")
        return Err(where, " ", quote(name), ": seccomp notify (listenerPath) is not supported yet");
    return Err(where, " ", quote(name), ": unknown action");
}

Result<scmp_compare> parse_op(const std::string& op, const std::string& where) {
    static const std::pair<const char*, scmp_compare> ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (auto& [n, v] : ops)
        if (op == n) return v;
    return Err(where, " ", quote(op), ": unknown operator");
}

Result<std::optional<uint32_t>> errno_of(const json::Value& o, const std::string& where) {
    auto v = member(o, "errnoRet");
    if (!v) return std::optional<uint32_t>{};
    auto n = v->is_number() ? v->as_uint64() : std::nullopt;
    if (!n || *n > 0xffff) return Err(where, ".errnoRet: expected an errno number");
    return std::optional<uint32_t>{static_cast<uint32_t>(*n)};
}

std::string str_of(const json::Value& o, const char* k) {
    auto v = member(o, k);
    return v && v->is_string() ? v->as_string() : std::string();
}

}  // namespace

SeccompFilter::~SeccompFilter() {
    if (ctx_) seccomp_release(static_cast<scmp_filter_ctx>(ctx_));
}

Result<void> SeccompFilter::load() const {
    if (!ctx_) return {};
    int r = seccomp_load(static_cast<scmp_filter_ctx>(ctx_));
    if (r < 0) return CodeErr(-r, "load the seccomp filter");
    return {};
}

Result<SeccompFilter> compile_seccomp(const oci::Spec& spec) {
    SeccompFilter f;
    if (!spec.linux || !spec.linux->seccomp || !spec.linux->seccomp->raw.is_object()) return f;
    const json::Value& s = spec.linux->seccomp->raw;
    std::string where = kField;

    std::optional<uint32_t> def_errno;
    if (auto v = member(s, "defaultErrnoRet")) {
        auto n = v->as_uint64();
        if (!n) return Err(where, ".defaultErrnoRet: expected an errno number");
        def_errno = static_cast<uint32_t>(*n);
    }
    std::string def_name = str_of(s, "defaultAction");
    if (def_name.empty()) return Err(where, ".defaultAction: missing");
    uint32_t def_action = TRY(parse_action(def_name, def_errno, where + ".defaultAction"));

    scmp_filter_ctx ctx = seccomp_init(def_action);
    if (!ctx) return Err(where, ": cannot initialise libseccomp");
    f.ctx_ = ctx;
    // no_new_privs is the spec's to decide (process.noNewPrivileges).
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);

    if (auto arches = member(s, "architectures")) {
        if (!arches->is_array()) return Err(where, ".architectures: expected array");
        for (auto& a : arches->items()) {
            std::string name = a.is_string() ? a.as_string() : "";
            std::string lib = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
            for (auto& ch : lib) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            uint32_t arch = seccomp_arch_resolve_name(lib.c_str());
            if (arch == 0) return Err(where, ".architectures: unknown architecture ", quote(name));
            int r = seccomp_arch_add(ctx, arch);
            if (r < 0 && r != -EEXIST) return CodeErr(-r, where, ".architectures: add ", quote(name));
        }
    }
    if (auto flags = member(s, "flags")) {
        for (auto& fl : flags->items()) {
            std::string n = fl.is_string() ? fl.as_string() : "";
            int r = 0;
            if (n == "SECCOMP_FILTER_FLAG_TSYNC") r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
            else if (n == "SECCOMP_FILTER_FLAG_LOG") r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
            else if (n == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
            else return Err(where, ".flags: unsupported flag ", quote(n));
            if (r < 0) return CodeErr(-r, where, ".flags: ", quote(n));
        }
    }
    if (member(s, "listenerPath")) return Err(where, ".listenerPath: seccomp notify is not supported yet");

    auto syscalls = member(s, "syscalls");
    if (syscalls && !syscalls->is_array()) return Err(where, ".syscalls: expected array");
    if (!syscalls) return f;
    for (size_t i = 0; i < syscalls->items().size(); ++i) {
        const json::Value& rule = syscalls->items()[i];
        std::string rw = cat(where, ".syscalls[", i, "]");
        auto ret = TRY(errno_of(rule, rw));
        uint32_t action = TRY(parse_action(str_of(rule, "action"), ret, rw + ".action"));
        std::vector<scmp_arg_cmp> args;
        std::set<unsigned> seen;
        bool repeated = false;
        if (auto a = member(rule, "args")) {
            for (size_t k = 0; k < a->items().size(); ++k) {
                const json::Value& arg = a->items()[k];
                std::string aw = cat(rw, ".args[", k, "]");
                auto idx = member(arg, "index") ? member(arg, "index")->as_uint64() : std::nullopt;
                if (!idx || *idx > 5) return Err(aw, ".index: expected 0..5");
                auto value = member(arg, "value") ? member(arg, "value")->as_uint64() : std::optional<uint64_t>(0);
                auto two = member(arg, "valueTwo") ? member(arg, "valueTwo")->as_uint64() : std::optional<uint64_t>(0);
                if (!value || !two) return Err(aw, ": value and valueTwo must be unsigned integers");
                scmp_compare op = TRY(parse_op(str_of(arg, "op"), aw + ".op"));
                repeated |= !seen.insert(static_cast<unsigned>(*idx)).second;
                args.push_back(scmp_arg_cmp{static_cast<unsigned>(*idx), op, *value, *two});
            }
        }
        if (action == def_action) continue;  // libseccomp refuses it; it changes nothing
        auto names = member(rule, "names");
        if (!names || !names->is_array()) return Err(rw, ".names: expected array of strings");
        for (auto& n : names->items()) {
            if (!n.is_string()) return Err(rw, ".names: expected array of strings");
            int nr = seccomp_syscall_resolve_name(n.as_string().c_str());
            if (nr == __NR_SCMP_ERROR) {
                // Unknown to this libseccomp/arch: skipped, as runc does.
                log::debug("seccomp: skipping unknown syscall " + n.as_string());
                continue;
            }
            int r;
            if (!repeated) {
                r = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
            } else {
                // The same argument compared twice: each condition is its own
                // rule (OR), as runc does.
                r = 0;
                for (auto& a : args)
                    if ((r = seccomp_rule_add_array(ctx, action, nr, 1, &a)) < 0) break;
            }
            if (r < 0) return CodeErr(-r, rw, ": add rule for ", quote(n.as_string()));
        }
    }
    return f;
}

}  // namespace berth::runtime
