#include "runtime/linux/seccomp.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <set>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

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
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
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

struct CtxRelease {
    void operator()(void* c) const { seccomp_release(static_cast<scmp_filter_ctx>(c)); }
};

// The BPF program libseccomp generates for `ctx`, through a memfd.
Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC)));
    if (!mem) return ErrnoErr("memfd_create");
    int r = seccomp_export_bpf(ctx, mem.get());
    if (r < 0) return CodeErr(-r, "generate the seccomp BPF program");
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % sizeof(sock_filter) != 0) return Err("generate the seccomp BPF program: bad size ", size);
    size_t count = static_cast<size_t>(size) / sizeof(sock_filter);
    if (count > BPF_MAXINSNS)
        return Err("the seccomp program has ", count, " instructions, more than the kernel's limit of ", BPF_MAXINSNS);
    std::vector<sock_filter> prog(count);
    if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size) return ErrnoErr("read the seccomp BPF program");
    return prog;
}

}  // namespace

Result<UniqueFd> SeccompFilter::load() const {
    if (prog_.empty()) return UniqueFd();
    struct sock_fprog fp {};
    fp.len = static_cast<unsigned short>(prog_.size());
    fp.filter = const_cast<sock_filter*>(prog_.data());
    long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &fp);
    if (r < 0) return ErrnoErr("load the seccomp filter");
    if (notify_) return UniqueFd(static_cast<int>(r));
    return UniqueFd();
}

namespace {

struct SavedHeader {
    char magic[8];  // "BERTHBPF"
    uint32_t version;
    uint32_t flags;
    uint32_t notify;
    uint32_t count;
};
constexpr char kMagic[8] = {'B', 'E', 'R', 'T', 'H', 'B', 'P', 'F'};

}  // namespace

Result<void> SeccompFilter::save(const std::string& path) const {
    if (prog_.empty()) return {};
    SavedHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = 1;
    h.flags = flags_;
    h.notify = notify_;
    h.count = static_cast<uint32_t>(prog_.size());
    std::string data(reinterpret_cast<const char*>(&h), sizeof h);
    data.append(reinterpret_cast<const char*>(prog_.data()), prog_.size() * sizeof(sock_filter));
    return write_file_atomic(path, data, 0600);
}

Result<SeccompFilter> saved_seccomp(const oci::Spec& spec, const std::string& path) {
    if (!spec.linux || !spec.linux->seccomp || !spec.linux->seccomp->raw.is_object()) return SeccompFilter();
    auto data = read_file(path);
    SavedHeader h{};
    if (!data || data->size() < sizeof h) return compile_seccomp(spec);
    std::memcpy(&h, data->data(), sizeof h);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != 1 || h.count == 0 ||
        data->size() != sizeof h + size_t{h.count} * sizeof(sock_filter))
        return compile_seccomp(spec);
    SeccompFilter f;
    f.prog_.resize(h.count);
    std::memcpy(f.prog_.data(), data->data() + sizeof h, size_t{h.count} * sizeof(sock_filter));
    f.flags_ = h.flags;
    f.notify_ = h.notify != 0;
    const json::Value& s = spec.linux->seccomp->raw;
    if (auto lp = member(s, "listenerPath"); lp && lp->is_string()) f.listener_path_ = lp->as_string();
    if (auto md = member(s, "listenerMetadata"); md && md->is_string()) f.listener_metadata_ = md->as_string();
    return f;
}

namespace {

// FNV-1a, 64 bits: only names the cache file; the entry's own copy of the
// key decides whether it is used.
uint64_t fnv1a(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

}  // namespace

Result<SeccompFilter> cached_seccomp(const oci::Spec& spec, const std::string& cache_dir) {
    if (!spec.linux || !spec.linux->seccomp || !spec.linux->seccomp->raw.is_object()) return SeccompFilter();
    // The build is part of the key: another libseccomp may compile differently.
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "(unversioned)"  // built outside autotools (the fuzz build)
#endif
    std::string key = cat("berth-runtime ", PACKAGE_VERSION, " ", __DATE__, " ", __TIME__, " seccomp ",
                          SCMP_VER_MAJOR, ".", SCMP_VER_MINOR, ".", SCMP_VER_MICRO, "\n",
                          json::write(spec.linux->seccomp->raw));
    char name[32];
    std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
    std::string path = cache_dir + "/" + name;
    if (auto data = read_file(path)) {
        SavedHeader h{};
        size_t prog_bytes = 0;
        if (data->size() >= sizeof h) {
            std::memcpy(&h, data->data(), sizeof h);
            prog_bytes = size_t{h.count} * sizeof(sock_filter);
        }
        if (data->size() >= sizeof h && std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.version == 2 &&
            h.count > 0 && data->size() == sizeof h + prog_bytes + key.size() &&
            std::string_view(*data).substr(sizeof h + prog_bytes) == key) {
            SeccompFilter f;
            f.prog_.resize(h.count);
            std::memcpy(f.prog_.data(), data->data() + sizeof h, prog_bytes);
            f.flags_ = h.flags;
            f.notify_ = h.notify != 0;
            const json::Value& s = spec.linux->seccomp->raw;
            if (auto lp = member(s, "listenerPath"); lp && lp->is_string()) f.listener_path_ = lp->as_string();
            if (auto md = member(s, "listenerMetadata"); md && md->is_string())
                f.listener_metadata_ = md->as_string();
            return f;
        }
    }
    auto f = TRY(compile_seccomp(spec));
    if (f.prog_.empty()) return f;
    SavedHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = 2;
    h.flags = f.flags_;
    h.notify = f.notify_;
    h.count = static_cast<uint32_t>(f.prog_.size());
    std::string data(reinterpret_cast<const char*>(&h), sizeof h);
    data.append(reinterpret_cast<const char*>(f.prog_.data()), f.prog_.size() * sizeof(sock_filter));
    data += key;
    // A cache that cannot be written only costs the next container the compile.
    if (mkdir_all(cache_dir, 0700)) {
        std::string tmp = cat(path, ".", ::getpid());
        if (write_file(tmp, data, 0600) && ::rename(tmp.c_str(), path.c_str()) == 0) return f;
        ::unlink(tmp.c_str());
    }
    return f;
}

Result<void> send_seccomp_listener(const SeccompFilter& f, int listener_fd, pid_t pid, json::Value state) {
    const std::string& path = f.listener_path();
    auto doc = json::Value::object();
    doc.set("ociVersion", state.find("ociVersion") ? *state.find("ociVersion") : json::Value::string("1.0.2"));
    auto fds = json::Value::array();
    fds.push(json::Value::string("seccompFd"));
    doc.set("fds", std::move(fds));
    doc.set("pid", json::Value::number(static_cast<int64_t>(pid)));
    doc.set("metadata", json::Value::string(f.listener_metadata()));
    doc.set("state", std::move(state));
    std::string payload = json::write(doc);

    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return Err(kField, ".listenerPath: ", quote(path), ": path too long");
    std::memcpy(sa.sun_path, path.data(), path.size());
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return ErrnoErr("socket");
    int r;
    do {
        r = ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return ErrnoErr(kField, ".listenerPath: connect to the seccomp agent at ", quote(path));
    TRY_CTX(send_fd(s.get(), listener_fd, payload), kField, ".listenerPath: hand the listener fd to the seccomp agent at ",
            quote(path));
    return {};
}

namespace {

// Checks what only the whole profile tells, and generates the program.
Result<std::vector<sock_filter>> finish(const SeccompFilter& f, scmp_filter_ctx ctx, bool notify, const std::string& where) {
    if (notify && f.listener_path().empty())
        return Err(where, ".listenerPath: required with SCMP_ACT_NOTIFY rules");
    if (!notify && !f.listener_path().empty())
        return Err(where, ".listenerPath: set, but no rule uses SCMP_ACT_NOTIFY");
    if ((f.flags() & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) && !notify)
        return Err(where, ".flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs SCMP_ACT_NOTIFY rules");
    return TRY_CTX(export_bpf(ctx), where);
}

}  // namespace

Result<SeccompFilter> compile_seccomp(const oci::Spec& spec) {
    SeccompFilter f;
    bool notify = false;
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
    if (def_action == SCMP_ACT_NOTIFY)
        return Err(where, ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

    std::unique_ptr<void, CtxRelease> owner(seccomp_init(def_action));
    auto ctx = static_cast<scmp_filter_ctx>(owner.get());
    if (!ctx) return Err(where, ": cannot initialise libseccomp");
    auto done = [&]() -> Result<SeccompFilter> {
        f.prog_ = TRY(finish(f, ctx, notify, where));
        f.notify_ = notify;
        if (notify) {
            f.flags_ |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
            // TSYNC with a listener is refused unless failures are ESRCH.
            if (f.flags_ & SECCOMP_FILTER_FLAG_TSYNC) f.flags_ |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
        return std::move(f);
    };

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
    // Flags go straight to seccomp(2) when the program is loaded.
    if (auto flags = member(s, "flags")) {
        if (!flags->is_array()) return Err(where, ".flags: expected array");
        for (auto& fl : flags->items()) {
            std::string n = fl.is_string() ? fl.as_string() : "";
            if (n == "SECCOMP_FILTER_FLAG_TSYNC") f.flags_ |= SECCOMP_FILTER_FLAG_TSYNC;
            else if (n == "SECCOMP_FILTER_FLAG_LOG") f.flags_ |= SECCOMP_FILTER_FLAG_LOG;
            else if (n == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") f.flags_ |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
            else if (n == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") f.flags_ |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
            else return Err(where, ".flags: unsupported flag ", quote(n));
        }
    }
    if (auto lp = member(s, "listenerPath")) {
        if (!lp->is_string() || lp->as_string().empty() || lp->as_string()[0] != '/')
            return Err(where, ".listenerPath: expected an absolute path");
        f.listener_path_ = lp->as_string();
    }
    if (auto md = member(s, "listenerMetadata")) {
        if (!md->is_string()) return Err(where, ".listenerMetadata: expected string");
        f.listener_metadata_ = md->as_string();
    }

    auto syscalls = member(s, "syscalls");
    if (syscalls && !syscalls->is_array()) return Err(where, ".syscalls: expected array");
    if (!syscalls) return done();
    for (size_t i = 0; i < syscalls->items().size(); ++i) {
        const json::Value& rule = syscalls->items()[i];
        std::string rw = cat(where, ".syscalls[", i, "]");
        auto ret = TRY(errno_of(rule, rw));
        uint32_t action = TRY(parse_action(str_of(rule, "action"), ret, rw + ".action"));
        notify |= action == SCMP_ACT_NOTIFY;
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
    return done();
}

}  // namespace berth::runtime
