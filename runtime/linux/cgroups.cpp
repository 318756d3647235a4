#include "runtime/linux/cgroups.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "libutil/strings.hpp"
#include "runtime/linux/cgroup_resources.hpp"
#include "runtime/linux/systemd.hpp"

namespace berth::runtime {

namespace {

constexpr const char* kMount = "/sys/fs/cgroup";

bool is_cgroup2(const char* path) {
    struct statfs st;
    return ::statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

// Our own cgroup in each hierarchy, from /proc/self/cgroup:
// "4:memory:/a/b" -> {"memory": "/a/b"}, "0::/x" -> {"": "/x"}.
std::vector<std::pair<std::string, std::string>> own_cgroups() {
    std::vector<std::pair<std::string, std::string>> out;
    auto text = read_file("/proc/self/cgroup");
    if (!text) return out;
    for (auto& line : split(*text, '\n')) {
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        out.emplace_back(line.substr(a + 1, b - a - 1), line.substr(b + 1));
    }
    return out;
}

std::string own_cgroup_for(const std::vector<std::pair<std::string, std::string>>& own,
                           const std::string& controllers) {
    for (auto& [c, p] : own)
        if (c == controllers) return p;
    return "/";
}

Result<void> write_value(const std::string& dir, const char* file, const std::string& value) {
    auto r = write_file(dir + "/" + file, value);
    if (!r) return Wrap(r.error(), "set ", file, " to ", value);
    return {};
}

// mkdir -p that tolerates a concurrent rmdir of an empty parent (a
// concurrent delete may remove /berth-runtime while we create below it).
Result<bool> make_dir(const std::string& path, std::string* top = nullptr) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (::mkdir(path.c_str(), 0755) == 0) {
            if (top && top->empty()) *top = path;
            return true;
        }
        if (errno == EEXIST) return false;
        if (errno != ENOENT) return ErrnoErr("create cgroup ", path);
        auto slash = path.rfind('/');
        if (slash == std::string::npos || slash == 0) return ErrnoErr("create cgroup ", path);
        auto r = make_dir(path.substr(0, slash), top);
        if (!r) return r;
    }
    return ErrnoErr("create cgroup ", path);
}

// A new v1 cpuset cgroup has empty cpus/mems and refuses tasks (ENOSPC):
// fill each level from its parent, top down, as runc does.
Result<void> init_cpuset(const std::string& root, const std::string& leaf) {
    std::string cur = root;
    for (auto& part : split(leaf.substr(root.size()), '/')) {
        if (part.empty()) continue;
        std::string parent = cur;
        cur += "/" + part;
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto mine = read_file(cur + "/" + f);
            if (mine && !trim(*mine).empty()) continue;
            auto theirs = TRY(read_file(parent + "/" + f));
            TRY(write_value(cur, f, std::string(trim(theirs))));
        }
    }
    return {};
}


}  // namespace

CgroupLayout Cgroup::detect_layout() {
    if (is_cgroup2(kMount)) return CgroupLayout::V2;
    return is_cgroup2("/sys/fs/cgroup/unified") ? CgroupLayout::Hybrid : CgroupLayout::V1;
}

Result<Cgroup> Cgroup::create(const oci::Spec& spec, const std::string& id, bool systemd) {
    Cgroup cg;
    cg.layout_ = detect_layout();
    std::string want = spec.linux ? spec.linux->cgroups_path : "";
    std::string rel;  // path below each hierarchy root
    bool absolute = !want.empty() && want[0] == '/';
    if (systemd) {
        // slice:prefix:name: the scope's cgroup, made by systemd in place().
        auto unit = TRY(runtime::systemd_unit(want, id));
        cg.scope_ = unit;
        // Connected now, so that no systemd means no clone.
        cg.systemd_bus_ = std::make_shared<SystemdManager>(TRY(SystemdManager::connect()));
        rel = unit.path;
        absolute = true;
    } else if (want.empty()) {
        rel = "/berth-runtime/" + id;
        cg.default_parent_ = "/berth-runtime";
        absolute = true;
    } else {
        rel = clean_path(want);
        if (rel.starts_with("..") || rel.find("/../") != std::string::npos)
            return Err("linux.cgroupsPath ", quote(want), ": must not leave the cgroup root");
    }
    auto own = absolute ? decltype(own_cgroups()){} : own_cgroups();

    auto full = [&](const std::string& base, const std::string& controllers) {
        std::string inner = absolute ? rel : clean_path(own_cgroup_for(own, controllers) + "/" + rel);
        return clean_path(base + "/" + inner);
    };

    if (cg.layout_ == CgroupLayout::V2) {
        cg.dirs_.push_back({"", "", true, full(kMount, ""), false, ""});
    } else {
        DIR* d = ::opendir(kMount);
        if (!d) return ErrnoErr("open ", kMount);
        while (auto* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name[0] == '.' || e->d_type != DT_DIR) continue;  // symlinks like cpu -> cpu,cpuacct
            std::string base = std::string(kMount) + "/" + name;
            if (name == "unified") {
                if (cg.layout_ == CgroupLayout::Hybrid) cg.dirs_.push_back({name, "", true, full(base, ""), false, ""});
                continue;
            }
            std::string opts = name == "systemd" ? "name=systemd" : name;
            cg.dirs_.push_back({name, opts, false, full(base, opts), false, ""});
        }
        ::closedir(d);
    }

    // On failure the destructor-less Cgroup is destroyed by the caller's guard;
    // here we undo what this function made before returning an error.
    auto undo = [&] { (void)cg.destroy(); };
    if (!cg.scope_.name.empty()) return cg;
    for (auto& dir : cg.dirs_) {
        auto made = make_dir(dir.path);
        if (!made) {
            undo();
            return std::unexpected(made.error());
        }
        dir.created = *made;
        if (dir.has("cpuset")) {
            if (auto r = init_cpuset(std::string(kMount) + "/" + dir.hierarchy, dir.path); !r) {
                undo();
                return Wrap(r.error(), "cgroup ", dir.path);
            }
        }
    }
    auto fail = [&](Error e) -> Result<Cgroup> {
        undo();
        return std::unexpected(std::move(e));
    };
    for (auto& dir : cg.dirs_) {
        if (dir.v2) {
            int fd = ::open(dir.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) return fail(ErrnoErr("open cgroup ", dir.path).error());
            cg.unified_fd_.reset(fd);
        }
    }
    // Where we are now, to come back after the clone.
    for (auto& dir : cg.dirs_) {
        if (dir.v2) {
            cg.own_.emplace_back();
            continue;
        }
        if (own.empty()) own = own_cgroups();
        cg.own_.push_back(clean_path(std::string(kMount) + "/" + dir.hierarchy + "/" +
                                     own_cgroup_for(own, dir.mount_opts)));
    }
    return cg;
}

Result<void> Cgroup::apply_limits(const oci::Spec& spec) const {
    static const oci::Resources kNone{};
    bool has_res = spec.linux && spec.linux->resources;
    const oci::Resources& res = has_res ? *spec.linux->resources : kNone;
    // cgroup2: enable controllers from the root down to our parent (on a
    // hybrid host only hugetlb lives there, and only when asked for). A
    // controller the spec needs but cgroup.controllers lacks is named
    // instead of an EINVAL.
    for (auto& d : dirs_) {
        if (!d.v2) continue;
        std::vector<std::string> need = v2_controllers_needed(res);
        // On a hybrid host only hugetlb can be asked of cgroup2: most specs
        // need nothing there, so nothing is read on their start path.
        if (layout_ != CgroupLayout::V2) {
            std::erase_if(need, [](const std::string& c) { return c != "hugetlb"; });
            if (need.empty()) continue;
        }
        auto avail_text = read_file(std::string(kMount) + (layout_ == CgroupLayout::V2 ? "" : "/unified") + "/cgroup.controllers");
        auto avail = split(avail_text ? std::string(trim(*avail_text)) : std::string(), ' ');
        std::erase_if(avail, [](const std::string& c) { return c.empty(); });
        auto has = [&](const std::string& c) { return std::find(avail.begin(), avail.end(), c) != avail.end(); };
        if (layout_ != CgroupLayout::V2) {
            std::erase_if(need, [&](const std::string& c) { return !has(c); });
        } else {
            for (auto& c : need)
                if (!has(c))
                    return Err("linux.resources: the ", c, " controller is not available in cgroup v2 (", kMount,
                               "/cgroup.controllers: ", avail_text ? std::string(trim(*avail_text)) : "", ")");
        }
        // Pure v2: every available controller, as runc does, not only those
        // the limits need: a container without limits is still accounted
        // (memory, pids and io stats for events, engines' metrics), and a
        // later update finds its controllers there. Best effort for the
        // ones no limit needs.
        const std::vector<std::string>& enable = layout_ == CgroupLayout::V2 ? avail : need;
        if (enable.empty()) continue;
        std::string ctl;
        for (auto& c : enable) ctl += "+" + c + " ";
        std::string root = layout_ == CgroupLayout::V2 ? kMount : std::string(kMount) + "/unified";
        auto parts = split(d.path.substr(root.size()), '/');
        std::string cur = root;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
            if (!parts[i].empty()) cur += "/" + parts[i];
            std::string file = cur + "/cgroup.subtree_control";
            if (write_file(file, ctl)) continue;
            // One at a time: a level may lack some (or have processes).
            for (auto& c : enable)
                if (auto r = write_file(file, "+" + c); !r && std::find(need.begin(), need.end(), c) != need.end())
                    return Wrap(r.error(), "enable +", c, " in ", cur);
        }
    }
    if (!has_res) return {};
    return apply_resources(dirs_, layout_, res);
}

Result<void> Cgroup::enter_self() const {
    if (!scope_.name.empty()) return {};
    for (auto& d : dirs_)
        if (!d.v2)
            if (auto r = write_file(d.path + "/tasks", "0"); !r) return Wrap(r.error(), "join cgroup ", d.path);
    return {};
}

Result<void> Cgroup::leave_self() const {
    if (!scope_.name.empty()) return {};
    for (size_t i = 0; i < dirs_.size(); ++i)
        if (!dirs_[i].v2 && i < own_.size())
            if (auto r = write_file(own_[i] + "/tasks", "0"); !r) return Wrap(r.error(), "return to cgroup ", own_[i]);
    return {};
}

json::Value Cgroup::to_json() const {
    auto doc = json::Value::object();
    doc.set("layout", json::Value::string(layout_ == CgroupLayout::V2 ? "v2" : layout_ == CgroupLayout::Hybrid ? "hybrid" : "v1"));
    doc.set("default_parent", json::Value::string(default_parent_));
    if (scope_started_) doc.set("systemd_unit", json::Value::string(scope_.name));
    auto arr = json::Value::array();
    for (auto& d : dirs_) {
        auto o = json::Value::object();
        o.set("hierarchy", json::Value::string(d.hierarchy));
        o.set("v2", json::Value::boolean(d.v2));
        o.set("path", json::Value::string(d.path));
        o.set("created", json::Value::boolean(d.created));
        if (!d.created_top.empty() && d.created_top != d.path) o.set("created_top", json::Value::string(d.created_top));
        arr.push(std::move(o));
    }
    doc.set("dirs", std::move(arr));
    return doc;
}

Cgroup Cgroup::from_json(const json::Value& v) {
    Cgroup cg;
    auto str = [](const json::Value& o, const char* k) {
        auto x = o.find(k);
        return x && x->is_string() ? x->as_string() : std::string();
    };
    auto boolean = [](const json::Value& o, const char* k) {
        auto x = o.find(k);
        return x && x->is_bool() && x->as_bool();
    };
    std::string layout = str(v, "layout");
    cg.layout_ = layout == "v1" ? CgroupLayout::V1 : layout == "hybrid" ? CgroupLayout::Hybrid : CgroupLayout::V2;
    cg.default_parent_ = str(v, "default_parent");
    cg.scope_.name = str(v, "systemd_unit");
    cg.scope_started_ = !cg.scope_.name.empty();
    if (auto a = v.find("dirs"); a && a->is_array())
        for (auto& d : a->items())
            cg.dirs_.push_back({str(d, "hierarchy"), "", boolean(d, "v2"), str(d, "path"), boolean(d, "created"),
                                str(d, "created_top")});
    return cg;
}

namespace {

bool exists_error(const Error& e) {
    return e.message.find("org.freedesktop.systemd1.UnitExists") != std::string::npos;
}

}  // namespace

Result<void> Cgroup::place(pid_t pid, const oci::Spec& spec, const std::string& id) {
    if (scope_.name.empty()) {
        for (auto& d : dirs_)
            if (d.v2)
                if (auto r = write_file(d.path + "/cgroup.procs", std::to_string(pid)); !r)
                    return Wrap(r.error(), "join cgroup ", d.path);
        return {};
    }
    const oci::Resources* res = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    // From here on delete stops the unit (a failed start included: the job
    // may have created it); but never one that was somebody else's.
    scope_started_ = true;
    auto start = [&] {
        return systemd_bus_->start_scope(scope_, pid, res, layout_ == CgroupLayout::V2, cat("berth-runtime container ", id));
    };
    auto started = start();
    // A scope of the same name that has just emptied (a container deleted
    // and made again at once) is still loaded until systemd collects it.
    for (int i = 0; i < 60 && !started && exists_error(started.error()) && !scope_busy(); ++i) {
        struct timespec ts {0, 50'000'000};
        ::nanosleep(&ts, nullptr);
        started = start();
    }
    if (!started) {
        if (exists_error(started.error())) {
            scope_started_ = false;
            return Err("linux.cgroupsPath: systemd unit ", scope_.name, " exists already");
        }
        return std::unexpected(started.error());
    }
    // Not held open for the container's life: systemd stops answering a
    // later connection of ours (delete in `run`) while this one sits unread.
    systemd_bus_.reset();
    // systemd made the scope in cgroup2 and in the v1 hierarchies it
    // manages; the other v1 controllers (freezer, cpuset, ...) are ours.
    for (auto& d : dirs_) {
        // The slices' dirs too, in the v1 hierarchies systemd leaves alone;
        // the topmost one made is removed with the container's.
        auto made = TRY(make_dir(d.path, &d.created_top));
        d.created = made;
        if (made && d.has("cpuset"))
            TRY_CTX(init_cpuset(std::string(kMount) + "/" + d.hierarchy, d.path), "cgroup ", d.path);
        if (auto r = write_file(d.path + "/cgroup.procs", std::to_string(pid)); !r)
            return Wrap(r.error(), "join cgroup ", d.path);
    }
    return {};
}

Result<void> Cgroup::update(const oci::Spec& spec) const {
    if (scope_started_ && spec.linux && spec.linux->resources) {
        auto sd = TRY(SystemdManager::connect());
        TRY(sd.set_properties(scope_.name, *spec.linux->resources, layout_ == CgroupLayout::V2));
    }
    return apply_limits(spec);
}

namespace {

// The sub-cgroups of `path` (made inside the container, or for exec
// --cgroup), children before parents.
void sub_cgroups(const std::string& path, std::vector<std::string>& out) {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return;
    while (auto* e = ::readdir(dir)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        std::string sub = path + "/" + e->d_name;
        sub_cgroups(sub, out);
        out.push_back(std::move(sub));
    }
    ::closedir(dir);
}

// Removes a cgroup directory, waiting briefly while dying processes drain.
Result<void> remove_cgroup(const std::string& path) {
    for (int i = 0; ::rmdir(path.c_str()) < 0; ++i) {
        if (errno == ENOENT) break;
        if (errno != EBUSY || i >= 200) return ErrnoErr("remove cgroup ", path);
        struct timespec ts {0, 5'000'000};
        ::nanosleep(&ts, nullptr);
    }
    return {};
}

}  // namespace

std::vector<pid_t> Cgroup::pids() const {
    std::vector<pid_t> out;
    for (auto& d : dirs_) {
        // Any one hierarchy lists every process of the container.
        if (!d.v2 && !d.has("pids") && !d.has("memory") && !d.has("systemd")) continue;
        std::vector<std::string> paths;
        sub_cgroups(d.path, paths);
        paths.push_back(d.path);
        bool found = false;
        for (auto& p : paths) {
            auto text = read_file(p + "/cgroup.procs");
            if (!text) continue;
            found = true;
            for (auto& l : split(*text, '\n'))
                if (auto v = parse_u64(l)) out.push_back(static_cast<pid_t>(*v));
        }
        if (!found) continue;
        if (!out.empty() || d.v2 || d.has("pids")) break;
    }
    return out;
}

Result<void> Cgroup::freeze(bool frozen) const {
    const CgroupDir* v1 = nullptr;
    const CgroupDir* v2 = nullptr;
    for (auto& d : dirs_) {
        if (d.has("freezer")) v1 = &d;
        if (d.v2) v2 = &d;
    }
    // On a hybrid host the v1 freezer is the one that holds the tasks; the
    // cgroup2 one is used when it is the only hierarchy.
    if (v1) {
        TRY(write_value(v1->path, "freezer.state", frozen ? "FROZEN" : "THAWED"));
        if (!frozen) return {};
        for (int i = 0; i < 2000; ++i) {
            auto s = read_file(v1->path + "/freezer.state");
            if (s && trim(*s) == "FROZEN") return {};
            // FREEZING can stall on a task in an uninterruptible sleep:
            // writing again retries, as runc does.
            if (i % 100 == 99) (void)write_value(v1->path, "freezer.state", "FROZEN");
            struct timespec ts {0, 1'000'000};
            ::nanosleep(&ts, nullptr);
        }
        (void)write_value(v1->path, "freezer.state", "THAWED");
        return Err("freeze ", v1->path, ": the tasks did not freeze");
    }
    if (v2 && layout_ == CgroupLayout::V2) {
        TRY(write_value(v2->path, "cgroup.freeze", frozen ? "1" : "0"));
        for (int i = 0; i < 2000; ++i) {
            auto ev = read_file(v2->path + "/cgroup.events");
            if (ev && ev->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return {};
            struct timespec ts {0, 1'000'000};
            ::nanosleep(&ts, nullptr);
        }
        return Err("freeze ", v2->path, ": the tasks did not ", frozen ? "freeze" : "thaw");
    }
    return Err("no freezer cgroup for this container");
}

Result<void> Cgroup::signal_all(int sig) const {
    if (sig == SIGKILL && layout_ == CgroupLayout::V2 && !dirs_.empty()) {
        if (write_file(dirs_[0].path + "/cgroup.kill", "1")) return {};
    }
    for (pid_t p : pids())
        if (::kill(p, sig) < 0 && errno != ESRCH) return ErrnoErr("signal ", p);
    return {};
}

bool Cgroup::scope_busy() const {
    // systemd's cgroup of the scope: cgroup2, or name=systemd on v1.
    for (auto& d : dirs_) {
        if (!d.v2 && d.hierarchy != "systemd") continue;
        auto procs = read_file(d.path + "/cgroup.procs");
        if (procs && !trim(*procs).empty()) return true;
    }
    return false;
}

Result<void> Cgroup::stop_scope() const {
    // An empty scope stops by itself (systemd sees its cgroup empty and
    // collects the unit). StopUnit only when processes are left: on a
    // scope that systemd is collecting, systemd 252 may leave StopUnit
    // unanswered.
    if (scope_busy()) {
        auto bus = systemd_bus_;
        if (!bus) bus = std::make_shared<SystemdManager>(TRY(SystemdManager::connect()));
        TRY(bus->stop_unit(scope_.name));
    }
    // Wait for systemd to remove its cgroups (with what the container made
    // below them: the scope is delegated), so that a delete leaves nothing.
    for (int i = 0; i < 4000; ++i) {
        bool left = false;
        for (auto& d : dirs_)
            if (!d.created && ::access(d.path.c_str(), F_OK) == 0) left = true;
        if (!left) return {};
        struct timespec ts {0, 5'000'000};
        ::nanosleep(&ts, nullptr);
    }
    return Err("systemd did not remove the cgroups of unit ", scope_.name);
}

Result<void> Cgroup::destroy() const {
    if (scope_started_) TRY(stop_scope());
    for (auto& d : dirs_) {
        if (!d.created) continue;
        // Sub-cgroups first (children before parents), then the
        // container's own.
        std::vector<std::string> subs;
        sub_cgroups(d.path, subs);
        for (auto& sub : subs) TRY(remove_cgroup(sub));
        TRY(remove_cgroup(d.path));
        // Parents made for this container (a slice's dirs in a v1 hierarchy
        // systemd does not manage), while empty.
        if (d.created_top.size() > 1 && d.path.starts_with(d.created_top + "/"))
            for (std::string p = d.path.substr(0, d.path.rfind('/'));
                 p.size() >= d.created_top.size() && ::rmdir(p.c_str()) == 0; p = p.substr(0, p.rfind('/'))) {
            }
        if (!default_parent_.empty()) {
            // Leave no empty /berth-runtime behind; busy means other containers.
            auto slash = d.path.rfind('/');
            ::rmdir(d.path.substr(0, slash).c_str());
        }
    }
    return {};
}

}  // namespace berth::runtime
