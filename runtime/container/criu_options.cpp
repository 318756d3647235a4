#include "runtime/container/criu_options.hpp"

#include <sched.h>

#include <algorithm>

#include "libutil/json.hpp"
#include "libutil/strings.hpp"

namespace berth::runtime {

namespace {

const std::vector<FlagSpec> kCheckpointFlags = {
    {"image-path", nullptr, true},     {"work-path", nullptr, true},        {"parent-path", nullptr, true},
    {"leave-running", nullptr, false}, {"tcp-established", nullptr, false}, {"tcp-skip-in-flight", nullptr, false},
    {"ext-unix-sk", nullptr, false},   {"shell-job", nullptr, false},       {"file-locks", nullptr, false},
    {"link-remap", nullptr, false},    {"pre-dump", nullptr, false},        {"manage-cgroups-mode", nullptr, true},
    {"empty-ns", nullptr, true},       {"auto-dedup", nullptr, false},      {"lazy-pages", nullptr, false},
    {"status-fd", nullptr, true},      {"page-server", nullptr, true},
};

const std::vector<FlagSpec> kRestoreFlags = {
    {"image-path", nullptr, true},
    {"work-path", nullptr, true},
    {"tcp-established", nullptr, false},
    {"ext-unix-sk", nullptr, false},
    {"shell-job", nullptr, false},
    {"file-locks", nullptr, false},
    {"manage-cgroups-mode", nullptr, true},
    {"empty-ns", nullptr, true},
    {"auto-dedup", nullptr, false},
    {"lazy-pages", nullptr, false},
    {"bundle", "b", true},
    {"detach", "d", false},
    {"pid-file", nullptr, true},
    {"console-socket", nullptr, true},
    {"no-subreaper", nullptr, false},
    {"no-pivot", nullptr, false},
};

// Where the container sees `dest`: absolute and clean (runc resolves it
// inside the rootfs the same way for a relative destination).
std::string container_path(const std::string& dest) {
    return clean_path("/" + dest);
}

}  // namespace

const std::vector<FlagSpec>& criu_flags(bool restore) {
    return restore ? kRestoreFlags : kCheckpointFlags;
}

Result<CriuOptions> criu_options(const Args& a) {
    CriuOptions o;
    o.image_path = a.get("image-path");
    o.work_path = a.get("work-path");
    o.parent_path = a.get("parent-path");
    o.leave_running = a.has("leave-running");
    o.tcp_established = a.has("tcp-established");
    o.tcp_skip_in_flight = a.has("tcp-skip-in-flight");
    o.ext_unix_sk = a.has("ext-unix-sk");
    o.shell_job = a.has("shell-job");
    o.file_locks = a.has("file-locks");
    o.link_remap = a.has("link-remap");
    o.pre_dump = a.has("pre-dump");
    o.auto_dedup = a.has("auto-dedup");
    o.lazy_pages = a.has("lazy-pages");
    if (a.has("manage-cgroups-mode")) {
        std::string m = a.get("manage-cgroups-mode");
        if (m == "soft")
            o.cgroups_mode = CgroupsMode::Soft;
        else if (m == "full")
            o.cgroups_mode = CgroupsMode::Full;
        else if (m == "strict")
            o.cgroups_mode = CgroupsMode::Strict;
        else if (m == "ignore")
            o.cgroups_mode = CgroupsMode::Ignore;
        else
            return Err("--manage-cgroups-mode ", quote(m), ": invalid (soft, full, strict or ignore)");
    }
    if (a.has("empty-ns")) {
        // runc's only one, and already the default (see empty_ns).
        std::string ns = a.get("empty-ns");
        if (ns != "network") return Err("--empty-ns ", quote(ns), ": namespace not supported (only \"network\")");
    }
    if (a.has("status-fd")) {
        auto fd = parse_u64(a.get("status-fd"));
        if (!fd || *fd > 1 << 20) return Err("--status-fd ", quote(a.get("status-fd")), ": not a file descriptor");
        o.status_fd = static_cast<int>(*fd);
    }
    if (a.has("page-server")) {
        std::string ps = a.get("page-server");
        auto colon = ps.rfind(':');
        auto port = colon == std::string::npos ? std::nullopt : parse_u64(ps.substr(colon + 1));
        if (colon == 0 || !port || *port == 0 || *port > 65535)
            return Err("--page-server ", quote(ps), ": expected ADDRESS:PORT");
        o.page_server_address = ps.substr(0, colon);
        // [::1]:PORT
        if (o.page_server_address.size() > 2 && o.page_server_address.front() == '[' &&
            o.page_server_address.back() == ']')
            o.page_server_address = o.page_server_address.substr(1, o.page_server_address.size() - 2);
        o.page_server_port = static_cast<int>(*port);
    }
    // As runc: --pre-dump with --leave-running is redundant (a pre-dump
    // always leaves it running), and --parent-path goes to CRIU as given
    // (relative to the image directory, or absolute).
    // --status-fd means something only with --lazy-pages; runc ignores it otherwise.
    if (o.image_path.empty()) o.image_path = "checkpoint";
    return o;
}

Result<void> check_checkpoint_options(const CriuOptions& o) {
    if (!o.lazy_pages) return {};
    // runc 1.1.5 sends such a dump to CRIU, whose page server then listens on
    // every address of the host, on a port it picks and only writes to
    // dump.log, serving the container's memory to whoever connects first.
    if (o.page_server_address.empty())
        return Err(
            "--lazy-pages needs --page-server ADDRESS:PORT (where CRIU's page server listens for the restoring "
            "side)");
    // runc passes both on; a pre-dump copies memory into the image dir and
    // serves no page, so --status-fd would never hear. Lazy pages belong to
    // the final dump (with --parent-path after pre-dumps).
    if (o.pre_dump)
        return Err(
            "--lazy-pages with --pre-dump: a pre-dump copies the memory; use --lazy-pages on the final dump "
            "(--parent-path)");
    return {};
}

std::vector<ExtMount> external_mounts(const oci::Spec& spec, const std::string& bundle,
                                      const std::vector<std::pair<std::string, std::string>>& cgroup_binds,
                                      const std::vector<std::string>& masked_files, bool restore) {
    std::vector<ExtMount> out;
    auto add = [&](const std::string& key, const std::string& value) {
        for (auto& e : out)
            if (e.key == key) return;
        out.push_back({key, value});
    };
    for (auto& m : spec.mounts) {
        bool bind = m.type == "bind" || std::any_of(m.options.begin(), m.options.end(),
                                                    [](auto& o) { return o == "bind" || o == "rbind"; });
        std::string dest = container_path(m.destination);
        if (bind) {
            std::string src = m.source.empty() || m.source[0] == '/' ? m.source : bundle + "/" + m.source;
            add(dest, restore ? clean_path(src) : dest);
        } else if (m.type == "cgroup") {
            for (auto& [hier, host] : cgroup_binds) {
                std::string key = clean_path(dest + "/" + hier);
                add(key, restore ? host : key);
            }
        }
    }
    // Masked files are /dev/null bound over them: at restore one entry for
    // /dev/null covers all (CRIU maps by the dumped mount's source).
    if (!masked_files.empty()) {
        if (restore)
            add("/dev/null", "/dev/null");
        else
            for (auto& p : masked_files)
                add(container_path(p), "/dev/null");
    }
    if (spec.linux)
        for (auto& d : spec.linux->devices)
            add(container_path(d.path), container_path(d.path));
    return out;
}

std::string descriptors_json(const std::vector<std::string>& fds) {
    auto a = json::Value::array();
    for (auto& f : fds)
        a.push(json::Value::string(f));
    return json::write(a);
}

Result<std::vector<std::string>> parse_descriptors(std::string_view text, const std::string& file) {
    auto doc = json::parse(text);
    if (!doc) return Wrap(doc.error(), file);
    if (!doc->is_array()) return Err(file, ": expected a JSON array of strings");
    std::vector<std::string> out;
    for (auto& v : doc->items()) {
        if (!v.is_string()) return Err(file, ": expected a JSON array of strings");
        out.push_back(v.as_string());
    }
    return out;
}

std::string criu_log_error(std::string_view log) {
    std::vector<std::string> errors;
    for (auto& line : split(log, '\n')) {
        auto at = line.find("Error (");
        if (at == std::string::npos) continue;
        std::string e(trim(std::string_view(line).substr(at)));
        // "Error (criu/cr-dump.c:2093): Dumping FAILED." says nothing new.
        if (e.find("FAILED") != std::string::npos && !errors.empty()) continue;
        if (std::find(errors.begin(), errors.end(), e) == errors.end()) errors.push_back(e);
    }
    if (errors.size() > 2) errors.erase(errors.begin(), errors.end() - 2);
    std::string out;
    for (auto& e : errors)
        out += (out.empty() ? "" : "; ") + e;
    return out;
}

}  // namespace berth::runtime
