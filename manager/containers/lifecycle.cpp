#include "manager/containers/lifecycle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/containers/events.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/names.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/run_options.hpp"
#include "manager/containers/spec.hpp"
#include "manager/images/pull.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/network/setup.hpp"
#include "manager/storage/overlay.hpp"
#include "manager/volumes/volume_store.hpp"

namespace berth::manager {

namespace {

}  // namespace

Result<std::optional<ExitInfo>> read_exit_file(const std::string& path) {
    auto text = read_file(path);
    if (!text) {
        if (text.error().code == ENOENT) return std::optional<ExitInfo>{};
        return std::unexpected(text.error());
    }
    auto v = TRY_CTX(json::parse(*text), path);
    ExitInfo info;
    if (auto* code = v.find("exit_code"); code && code->is_number()) info.exit_code = code->as_int64().value_or(255);
    if (auto* oom = v.find("oom_killed"); oom && oom->is_bool()) info.oom_killed = oom->as_bool();
    if (auto* at = v.find("exited_at"); at && at->is_string()) info.finished_at = at->as_string();
    return std::optional<ExitInfo>(info);
}

namespace {

// Waits until `path` exists; false after `timeout_ms` (-1: no limit).
bool wait_for_file(const std::string& path, int timeout_ms) {
    std::string dir = path.substr(0, path.rfind('/'));
    (void)mkdir_all(dir, 0700);
    UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (in) ::inotify_add_watch(in.get(), dir.c_str(), IN_MOVED_TO | IN_CREATE);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (path_exists(path)) return true;
        int wait_ms = 100;  // also a safety net should inotify miss a rename
        if (timeout_ms >= 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
                            .count();
            if (left <= 0) return false;
            wait_ms = static_cast<int>(std::min<long>(left, wait_ms));
        }
        if (in) {
            pollfd p{in.get(), POLLIN, 0};
            if (::poll(&p, 1, wait_ms) > 0) {
                char buf[4096];
                while (::read(in.get(), buf, sizeof buf) > 0) {
                }
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        }
    }
}

// Everything a container may have made, removed in the reverse order of
// creation; each step is skipped when there is nothing to do, so it also
// finishes what a killed berth left.
Result<void> destroy(Engine& e, const ContainerRecord& c, bool remove_anonymous_volumes) {
    const auto& p = e.paths;
    if (path_exists(p.runtime_root() + "/" + c.id)) {
        std::string rt = TRY(e.runtime_path(container_options(c).value_or(RunOptions{}).runtime));
        auto out = TRY(run_program({rt, "--root", p.runtime_root(), "delete", "--force", c.id}));
        if (out.status != 0 && path_exists(p.runtime_root() + "/" + c.id))
            return Err("delete ", c.id, " in the runtime: ", last_line(out.err));
    }
    // A shim stops by itself once its container has exited and its exit
    // command (which waits for this container's lock) has run; only one that
    // was still starting a container when berth was killed is stopped here.
    if (auto pid = read_file(p.shim_dir(c.id) + "/shim.pid"); pid && c.state == "creating") {
        pid_t sp = static_cast<pid_t>(parse_i64(trim(*pid)).value_or(0));
        if (process_alive(sp, "berth-shim")) ::kill(sp, SIGKILL);
    }
    TRY(unpublish_ports(e, c.id));  // before storage.remove, which takes ports.json with it
    drop_netns(e, c.id);
    if (TRY(e.storage.get(c.id))) TRY(e.storage.remove(c.id));
    remove_tree(e.paths.dir(c.id));
    auto volumes = TRY(container_volumes(e.db(), c.id));
    std::vector<std::string> networks;
    for (const auto& l : TRY(NetworkStore(e.db()).leases_of_container(c.id))) networks.push_back(l.network);
    TRY(e.containers.remove(c.id));  // container_volumes and network_leases rows go with it
    TRY(release_volumes(e.db(), e.paths.root, volumes, remove_anonymous_volumes));
    TRY(update_peers(e, networks));
    remove_tree(p.shim_dir(c.id));
    ::unlink(p.exit_file(c.id).c_str());
    return {};
}

bool running_state(const std::string& s) {
    return s == "running" || s == "paused";
}

// --stop-signal, else the image's StopSignal, else SIGTERM.
Result<int> stop_signal_of(Engine& e, const ContainerRecord& c, const RunOptions& o) {
    json::Value config = json::Value::object();
    if (auto img = TRY(e.db().get(c.image_id))) config = TRY_CTX(json::parse(img->config), "image ", c.image_id);
    return stop_signal(o, config);
}

// The run root is a tmpfs: a boot id there that is missing or not this
// boot's means the machine rebooted (or the run root was wiped) since berth
// last ran. Two small reads on every container command.
// `for_new_container`: create is about to add a container; the run root gets
// this boot's marker now, so the next command does not take the new
// container for one an earlier boot left.
Result<void> reset_after_reboot(Engine& e, bool for_new_container) {
    // After a reboot nothing runs and nothing is mounted, whatever berth.db says.
    std::string boot_id(trim(read_file("/proc/sys/kernel/random/boot_id").value_or("")));
    std::string marker = e.paths.runroot + "/boot-id";
    if (std::string(trim(read_file(marker).value_or(""))) == boot_id) return {};
    // A root without containers has nothing to reset, and gets no run root
    // (image commands open the engine too; they leave nothing under /run).
    if (!for_new_container) {
        Query any(e.db().handle(), "SELECT 1 FROM containers LIMIT 1");
        if (any.step() != SQLITE_ROW) return {};
    }
    TRY(mkdir_all(e.paths.runroot, 0700));
    // Once, by the first of the commands that start at the same time: the
    // others wait here and then find the marker.
    std::string lock_path = e.paths.runroot + "/boot.lock";
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock || ::flock(lock.get(), LOCK_EX) < 0) return ErrnoErr("lock ", lock_path);
    if (std::string(trim(read_file(marker).value_or(""))) != boot_id) {
        // No marker of this boot: the machine rebooted, or the run root was
        // never made (or wiped). Either way no container of this root can be
        // running (a running one has its shim's files here); a container's
        // rootfs that is not mounted any more loses its count. Rootfs made
        // with `berth rootfs` are repaired by RootfsStore::cleanup instead.
        auto all = TRY(e.containers.list());
        TRY(e.db().transaction([&]() -> Result<void> {
            Query q(e.db().handle(),
                    "UPDATE containers SET state = 'exited', exit_code = 255, pid = 0 "
                    "WHERE state IN ('running', 'paused')");
            TRY(q.run("berth.db: reset containers after a reboot"));
            for (const auto& c : all) {
                if (is_mount_point(e.storage.merged_dir(c.id))) continue;
                Query r(e.db().handle(), "UPDATE rootfs SET mount_count = 0 WHERE id = ?");
                TRY(r.bind(c.id).run("berth.db: reset a mount count after a reboot"));
            }
            return {};
        }));
        // A --rm container that was running when the machine went down is
        // removed as its exit would have (its volatile upper dir could not
        // even be mounted again).
        for (const auto& c : TRY(e.containers.list())) {
            auto o = container_options(c);
            if (c.state != "exited" || !o || !o->remove) continue;
            if (auto r = destroy(e, c, true); !r) log::warn(cat("remove --rm container ", c.id, ": ", r.error().what()));
        }
        std::string tmp = cat(marker, ".", ::getpid());
        TRY(write_file(tmp, boot_id + "\n", 0600));
        if (::rename(tmp.c_str(), marker.c_str()) < 0) return ErrnoErr("rename ", tmp, " to ", marker);
    }
    return {};
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(const GlobalOptions& g) {
    auto storage = TRY(RootfsStore::open(g.root));
    auto e = std::make_unique<Engine>(g, ContainerPaths{g.root, g.runroot}, std::move(storage));
    TRY(reset_after_reboot(*e, false));
    return e;
}

Result<std::string> Engine::shim_path() {
    std::string p = find_berth_program("berth-shim");
    if (p.empty()) return Err("berth-shim: not found next to berth nor in PATH");
    return p;
}

Result<std::string> Engine::runtime_path(const std::string& wanted) {
    if (!wanted.empty()) {
        if (wanted.find('/') != std::string::npos) {
            if (::access(wanted.c_str(), X_OK) != 0) return ErrnoErr("--runtime ", wanted);
            return wanted;
        }
        std::string p = find_berth_program(wanted);
        if (p.empty()) return Err("--runtime ", wanted, ": not found in PATH");
        return p;
    }
    std::string p = find_berth_program("berth-runtime");
    if (p.empty()) return Err("berth-runtime: not found next to berth nor in PATH");
    return p;
}

Result<RunOptions> container_options(const ContainerRecord& c) {
    auto v = TRY_CTX(json::parse(c.options), "container ", c.id, ": options");
    return run_options_from_json(v);
}

namespace {
// A container event, with docker's name and image attributes.
void container_event(Engine& e, const ContainerRecord& c, const char* action,
                     std::map<std::string, std::string> attrs = {}) {
    attrs["name"] = c.name;
    attrs["image"] = c.image_name;
    record_event(e.paths.runroot, Event{"container", action, c.id, std::move(attrs), 0});
}
}  // namespace

Result<void> runtime_command(Engine& e, const ContainerRecord& c, const std::vector<std::string>& args) {
    auto o = TRY(container_options(c));
    std::string rt = TRY(e.runtime_path(o.runtime));
    std::vector<std::string> argv = {rt, "--root", e.paths.runtime_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = TRY(run_program(argv));
    if (out.status != 0) return Err(last_line(out.err).empty() ? cat(rt, " exited with ", out.status) : last_line(out.err));
    return {};
}

// The image to run: the local one, else pulled (docker's --pull=missing),
// with progress on stderr.
Result<ImageRecord> image_for_run(Engine& e, const RunOptions& opts) {
    auto local = find_image_record(e.db(), e.global, opts.image);
    if ((local && opts.pull != "always") || opts.pull == "never") return local;
    auto ref = parse_reference(opts.image, e.global.refs);
    // "localhost/..." names images made or loaded here (as in podman): there
    // is no registry to pull them from.
    if (!ref || ref->domain == "localhost") return local;
    PullOptions po;
    po.tls_verify = opts.tls_verify;
    PullProgress progress(::isatty(2) == 1 ? PullProgress::Mode::Terminal : PullProgress::Mode::Plain);
    progress.message(cat("Trying to pull ", ref->str(), "..."));
    auto pulled = TRY_CTX(pull_image(*ref, e.paths.root, e.global.registries, po, progress), "pull ", ref->str());
    auto img = TRY(e.db().get(pulled.id));
    if (!img) return Err(opts.image, ": image not known");
    return std::move(*img);
}

Result<ContainerRecord> create_container(Engine& e, const RunOptions& opts) {
    auto img = TRY(image_for_run(e, opts));
    TRY(reset_after_reboot(e, true));
    ContainerRecord c;
    c.id = TRY(random_hex_id());
    c.image_id = img.id;
    c.image_name = opts.image;
    c.created = now_rfc3339_nano();
    c.state = "creating";
    c.options = json::write(to_json(opts));
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    if (!opts.name.empty()) {
        c.name = opts.name;
        if (auto r = e.containers.insert(c); !r) {
            ::unlink(e.paths.lock_file(c.id).c_str());
            return std::unexpected(r.error());
        }
    } else {
        // Generated names can collide: a few tries, then the id.
        for (int i = 0;; ++i) {
            c.name = i < 5 ? generate_container_name() : c.id.substr(0, 12);
            if (e.containers.insert(c)) break;
            if (i >= 5) return Err("could not find a free name for the container");
        }
    }
    auto made = [&]() -> Result<void> {
        TRY(e.storage.create(c.image_id, c.id));
        std::string merged = TRY(e.storage.mount(c.id, opts.remove));
        auto image_config = TRY_CTX(json::parse(img.config), "image ", img.id, ": config");
        std::vector<std::string> image_volumes;
        if (auto* cfg = image_config.find("config"))
            if (auto* vols = cfg->find("Volumes"); vols && vols->is_object())
                for (const auto& [k, v] : vols->members()) image_volumes.push_back(k);
        std::vector<ResolvedMount> mounts;
        TRY(e.db().transaction([&]() -> Result<void> {
            mounts = TRY(attach_volumes(e.db(), e.paths.root, c.id, opts.mounts, image_volumes));
            return {};
        }));
        TRY(prepare_volumes(e.db(), e.paths.root, c.id, merged, opts.mounts));
        std::string dir = e.paths.dir(c.id);
        if (opts.network.starts_with("container:")) TRY(e.containers.find(opts.network.substr(10)));
        TRY(attach_networks(e, c, opts));
        TRY(write_network_files(e, c, opts));
        std::string init;
        if (opts.init) {
            init = find_berth_program("berth-init");
            if (init.empty()) return Err("--init: berth-init not found next to berth nor in PATH");
        }
        SpecInputs in{opts, image_config, c.id, merged, dir, mounts, init,
                      has_own_networks(opts) ? netns_path(e, c.id) : std::string()};
        auto spec = TRY(make_spec(in));
        TRY(write_file_atomic(dir + "/config.json", json::write(spec, true), 0600));
        c.state = "created";
        return e.containers.update(c);
    }();
    if (!made) {
        if (auto r = destroy(e, c, true); !r)
            log::warn(cat("remove the half-made container ", c.id, ": ", r.error().what()));
        else
            ::unlink(e.paths.lock_file(c.id).c_str());
        return std::unexpected(made.error());
    }
    container_event(e, c, "create");
    return c;
}

Result<void> start_container(Engine& e, ContainerRecord& c, bool attach, const RestoreFrom* restore) {
    auto o = TRY(container_options(c));
    auto rec = TRY(e.storage.get(c.id));
    if (!rec) return Err("container ", c.id, ": its rootfs is gone");
    if (rec->mount_count == 0) {
        std::string merged = TRY(e.storage.mount(c.id, o.remove));
        // A reboot dropped tmpfs and bind-device volumes: mount them again.
        TRY(prepare_volumes(e.db(), e.paths.root, c.id, merged, o.mounts));
    }
    if (o.network.starts_with("container:")) TRY(join_container_netns(e, c, o));
    // With interfaces of its own, the container gets a network namespace
    // made and wired here before the runtime runs, given to it by path (as
    // podman does): the runtime needs no second step to start it, and a
    // checkpoint leaves the namespace (and the veths whose peers sit on the
    // host's bridges) out of CRIU's images, as a namespace joined by path.
    bool wire = has_own_networks(o);
    std::string shim = TRY(e.shim_path());
    std::string rt = TRY(e.runtime_path(o.runtime));
    const auto& p = e.paths;
    TRY(mkdir_all(p.exit_dir(), 0700));
    std::vector<std::string> argv = {shim,
                                     "--id", c.id,
                                     "--bundle", p.dir(c.id),
                                     "--runtime", rt,
                                     "--runtime-root", p.runtime_root(),
                                     "--run-dir", p.shim_dir(c.id),
                                     "--log-path", p.log(c.id),
                                     "--exit-dir", p.exit_dir(),
                                     "--delete",
                                     "--exit-command", self_exe()};
    for (const auto& a : {std::string("--root"), e.paths.root, std::string("--runroot"), e.paths.runroot,
                          std::string("container"), std::string("cleanup"), c.id})
        argv.insert(argv.end(), {"--exit-command-arg", a});
    if (o.log_max_size) argv.insert(argv.end(), {"--log-size-max", std::to_string(o.log_max_size)});
    if (o.tty) argv.push_back("--terminal");
    if (o.interactive) argv.push_back("--stdin");
    if (restore) {
        argv.insert(argv.end(), {"--restore", restore->image_dir});
        for (const auto& a : restore->runtime_args) argv.insert(argv.end(), {"--restore-arg", a});
    } else if (!attach) {
        argv.push_back("--start");
    }
    // Until the shim answers, a failure takes the namespace and the
    // published ports' rules away again.
    auto unwire = [&] {
        if (!wire) return;
        if (auto r = unpublish_ports(e, c.id); !r) log::warn(r.error().what());
        drop_netns(e, c.id);
    };
    if (!wire && o.network != "host" && !o.network.starts_with("container:")) {
        // No network of its own (any more: all disconnected while it was
        // stopped): a namespace the runtime makes, lo only.
        TRY(set_namespace_path(p.dir(c.id) + "/config.json", "network", ""));
    }
    if (wire) {
        auto wired = [&]() -> Result<void> {
            std::string ns_path = TRY(make_netns(e, c));
            TRY(set_namespace_path(p.dir(c.id) + "/config.json", "network", ns_path));
            UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!ns) return ErrnoErr("open ", ns_path);
            return connect_netns(e, c, o, ns.get());
        }();
        if (!wired) {
            unwire();
            return std::unexpected(wired.error());
        }
    }
    auto out = run_program(argv);
    if (!out || out->status != 0) {
        unwire();
        if (!out) return std::unexpected(out.error());
        std::string msg = last_line(out->err);
        // "create ID: MESSAGE" from the shim: the id is noise for the user.
        for (const char* verb : {"create ", "start ", "restore "})
            if (msg.starts_with(cat(verb, c.id, ": "))) msg = msg.substr(std::string_view(verb).size() + c.id.size() + 2);
        return Err(msg.empty() ? cat("berth-shim exited with ", out->status) : msg);
    }
    auto v = TRY_CTX(json::parse(out->out), "berth-shim's answer");
    const json::Value* pid = v.find("pid");
    const json::Value* shim_pid = v.find("shim_pid");
    c.pid = pid ? pid->as_int64().value_or(0) : 0;
    c.shim_pid = shim_pid ? shim_pid->as_int64().value_or(0) : 0;
    ::unlink((p.dir(c.id) + "/checkpointed").c_str());  // State.Checkpointed: started since
    c.state = "running";
    c.started_at = now_rfc3339_nano();
    c.finished_at.clear();
    c.exit_code = 0;
    c.oom_killed = false;
    TRY(e.containers.update(c));
    container_event(e, c, restore ? "restore" : "start");
    return {};
}

Result<void> start_process(Engine& e, ContainerRecord& c) {
    return runtime_command(e, c, {"start", c.id});
}

Result<void> refresh(Engine& e, ContainerRecord& c) {
    if (!running_state(c.state)) return {};
    auto info = TRY(read_exit_file(e.paths.exit_file(c.id)));
    if (!info) {
        if (process_alive(static_cast<pid_t>(c.shim_pid), "berth-shim")) return {};
        // The shim may have written the file just before it exited.
        info = TRY(read_exit_file(e.paths.exit_file(c.id)));
        if (!info) {
            if (c.pid > 0 && ::kill(static_cast<pid_t>(c.pid), 0) == 0) return {};  // orphaned: still running
            info = ExitInfo{255, false, now_rfc3339_nano()};
        }
    }
    c.state = "exited";
    c.exit_code = info->exit_code;
    c.oom_killed = info->oom_killed;
    c.finished_at = info->finished_at;
    c.pid = 0;
    if (TRY(e.containers.mark_exited(c))) container_event(e, c, "die", {{"exitCode", std::to_string(c.exit_code)}});
    return {};
}

Result<void> kill_container(Engine& e, ContainerRecord& c, int sig) {
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    TRY(refresh(e, c));
    if (!running_state(c.state)) return Err("container ", c.name, " is not running");
    TRY(runtime_command(e, c, {"kill", c.id, std::to_string(sig)}));
    container_event(e, c, "kill", {{"signal", std::to_string(sig)}});
    return {};
}

Result<void> pause_container(Engine& e, ContainerRecord& c, bool pause) {
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    TRY(refresh(e, c));
    if (pause && c.state != "running") return Err("container ", c.name, " is not running");
    if (!pause && c.state != "paused") return Err("container ", c.name, " is not paused");
    TRY(runtime_command(e, c, {pause ? "pause" : "resume", c.id}));
    c.state = pause ? "paused" : "running";
    TRY(e.containers.update(c));
    container_event(e, c, pause ? "pause" : "unpause");
    return {};
}

Result<void> stop_container(Engine& e, ContainerRecord& c, std::optional<int> timeout) {
    auto o = TRY(container_options(c));
    int secs = timeout ? *timeout : o.stop_timeout.value_or(10);
    {
        auto held = TRY(ContainerLock::take(e.paths, c.id));
        TRY(refresh(e, c));
        c.stop_requested = true;
        TRY(e.containers.update(c));
        if (!running_state(c.state)) return {};
        int signo = TRY(stop_signal_of(e, c, o));
        if (secs != 0) TRY(runtime_command(e, c, {"kill", c.id, std::to_string(signo)}));
        if (c.state == "paused") {
            TRY(runtime_command(e, c, {"resume", c.id}));
            c.state = "running";
            TRY(e.containers.update(c));
        }
    }
    if (secs == 0 || !wait_for_file(e.paths.exit_file(c.id), secs < 0 ? -1 : secs * 1000)) {
        auto held = TRY(ContainerLock::take(e.paths, c.id));
        TRY(refresh(e, c));
        if (running_state(c.state)) {
            if (auto r = runtime_command(e, c, {"kill", "--all", c.id, "9"}); !r)
                TRY(refresh(e, c));  // it may have exited in the meantime
        }
    }
    wait_for_file(e.paths.exit_file(c.id), 30000);
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    return refresh(e, c);
}

bool wait_for_exit(Engine& e, const std::string& id, int timeout_ms) {
    return wait_for_file(e.paths.exit_file(id), timeout_ms);
}

Result<int64_t> wait_container(Engine& e, const std::string& id) {
    for (;;) {
        auto c = TRY(e.containers.get(id));
        if (!c) return Err("no such container: ", id);
        if (!running_state(c->state)) return c->exit_code;
        if (wait_for_file(e.paths.exit_file(id), 1000)) {
            auto info = TRY(read_exit_file(e.paths.exit_file(id)));
            if (info) return info->exit_code;
        } else {
            auto held = TRY(ContainerLock::take(e.paths, id));
            auto now = TRY(e.containers.get(id));
            if (!now) return Err("no such container: ", id);
            TRY(refresh(e, *now));
        }
    }
}

Result<void> remove_container(Engine& e, const std::string& id, bool force, bool volumes) {
    pid_t shim = 0;
    {
        auto held = TRY(ContainerLock::take(e.paths, id));
        auto c = TRY(e.containers.get(id));
        if (!c) {
            ::unlink(e.paths.lock_file(id).c_str());
            return Err("no such container: ", id);
        }
        TRY(refresh(e, *c));
        if (running_state(c->state)) {
            if (!force)
                return Err("cannot remove container \"", c->name, "\": container is ", c->state,
                           ": stop the container before removing or force remove");
            if (c->state == "paused") (void)runtime_command(e, *c, {"resume", id});
            (void)runtime_command(e, *c, {"kill", "--all", id, "9"});
            wait_for_file(e.paths.exit_file(id), 10000);
            TRY(refresh(e, *c));
        }
        shim = static_cast<pid_t>(c->shim_pid);
        c->state = "removing";
        TRY(e.containers.update(*c));
        TRY(destroy(e, *c, volumes));
        ::unlink(e.paths.lock_file(id).c_str());
        container_event(e, *c, "destroy");
    }
    // The shim's exit command waited for the lock; give it the moment it
    // needs to see the container gone, so rm leaves no process behind.
    for (int i = 0; i < 500 && process_alive(shim, "berth-shim"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // The shim's own `RUNTIME delete --log RUN_DIR/runtime.log`, when it ran
    // after destroy(), made the run dir again.
    remove_tree(e.paths.shim_dir(id));
    return {};
}

namespace {

// ID.removed in the exit dir: the exit record of an auto-removed container;
// those older than ten minutes go.
void keep_removed_exit(Engine& e, const std::string& id) {
    std::string path = e.paths.exit_file(id);
    (void)::link(path.c_str(), (path + ".removed").c_str());
    std::error_code ec;
    auto now = std::filesystem::file_time_type::clock::now();
    for (const auto& ent : std::filesystem::directory_iterator(e.paths.exit_dir(), ec))
        if (ent.path().extension() == ".removed" && now - ent.last_write_time(ec) > std::chrono::minutes(10))
            ::unlink(ent.path().c_str());
}

}  // namespace

Result<void> cleanup_container(Engine& e, const std::string& id) {
    std::chrono::milliseconds delay{0};
    {
        auto held = TRY(ContainerLock::take(e.paths, id));
        auto c = TRY(e.containers.get(id));
        if (!c) {
            // rm was first; the shim may have written the exit file after
            // rm removed it (the container died of rm's delete --force).
            ::unlink(e.paths.exit_file(id).c_str());
            ::unlink(e.paths.lock_file(id).c_str());
            return {};
        }
        TRY(refresh(e, *c));
        if (c->state != "exited") return {};
        TRY(unpublish_ports(e, id));
        drop_netns(e, id);  // the veths go with the namespace
        if (auto r = TRY(e.storage.get(id)); r && r->mount_count > 0) TRY(e.storage.unmount(id, true));
        auto o = TRY(container_options(*c));
        bool restart = false;
        if (!c->stop_requested) {
            switch (o.restart.kind) {
            case RestartPolicy::Kind::No: break;
            case RestartPolicy::Kind::OnFailure:
                restart = c->exit_code != 0 && (o.restart.max_retries == 0 || c->restart_count < o.restart.max_retries);
                break;
            case RestartPolicy::Kind::Always:
            case RestartPolicy::Kind::UnlessStopped: restart = true; break;
            }
        }
        if (!restart) {
            if (o.remove) {
                // Its exit code outlives it for a wait that asked for the
                // removal (berth serve's condition=removed).
                keep_removed_exit(e, id);
                c->state = "removing";
                TRY(e.containers.update(*c));
                TRY(destroy(e, *c, true));
                ::unlink(e.paths.lock_file(id).c_str());
                container_event(e, *c, "destroy");
            }
            return {};
        }
        // docker's back-off: 100 ms, doubled for every restart, at most a minute.
        delay = std::chrono::milliseconds(100) * (1L << std::min<int64_t>(c->restart_count, 10));
        delay = std::min<std::chrono::milliseconds>(delay, std::chrono::minutes(1));
    }
    std::this_thread::sleep_for(delay);
    auto held = TRY(ContainerLock::take(e.paths, id));
    auto c = TRY(e.containers.get(id));
    if (!c) ::unlink(e.paths.lock_file(id).c_str());
    if (!c || c->state != "exited" || c->stop_requested) return {};
    c->restart_count++;
    return start_container(e, *c, false);
}

namespace {

// The live shim of the container's last start, 0 when there is none.
pid_t live_shim(Engine& e, const std::string& id) {
    auto text = read_file(e.paths.shim_dir(id) + "/shim.pid");
    pid_t pid = text ? static_cast<pid_t>(parse_i64(trim(*text)).value_or(0)) : 0;
    return process_alive(pid, "berth-shim") ? pid : 0;
}

// True when the shim was told to take the container to running by itself
// (--start, --restore); without, it stops after the runtime's create and
// waits for an attach to start it.
bool shim_starts_container(pid_t shim) {
    for (const auto& arg : split(read_file(cat("/proc/", shim, "/cmdline")).value_or(""), '\0'))
        if (arg == "--start" || arg == "--restore") return true;
    return false;
}

// The runtime's status of the container ("created", "running", ...; "" when
// the runtime has none) and its pid.
struct RuntimeView {
    std::string status;
    int64_t pid = 0;
};

Result<RuntimeView> runtime_view(Engine& e, const ContainerRecord& c) {
    RuntimeView out;
    if (!path_exists(e.paths.runtime_root() + "/" + c.id)) return out;
    std::string rt = TRY(e.runtime_path(TRY(container_options(c)).runtime));
    auto r = TRY(run_program({rt, "--root", e.paths.runtime_root(), "state", c.id}));
    if (r.status != 0) return out;
    auto v = TRY_CTX(json::parse(r.out), "the runtime's state of ", c.id);
    if (auto* s = v.find("status"); s && s->is_string()) out.status = s->as_string();
    if (auto* p = v.find("pid"); p && p->is_number()) out.pid = p->as_int64().value_or(0);
    return out;
}

// A start that a killed berth left half done: berth.db still says created
// (or exited), but the start's network namespace, port rules or shim are
// there. A shim that got the container running keeps it, and it is recorded
// as running, as the start would have recorded it (its namespace and rules
// are complete: they were made before the shim ran). Anything else is undone
// as a failed start is, so that the next start begins afresh: the shim and
// the runtime's container, the rules, and the namespace (the kernel removes
// its veths with it).
Result<void> finish_interrupted_start(Engine& e, ContainerRecord& c) {
    pid_t shim = live_shim(e, c.id);
    bool starts = shim && shim_starts_container(shim);
    RuntimeView rt = TRY(runtime_view(e, c));
    // Ran and exited already (its shim's exit command waits for our lock).
    auto exited = [&] { return rt.status == "stopped" || path_exists(e.paths.exit_file(c.id)); };
    bool runs = false;
    // The shim may be between the runtime's create and start (10 s at most).
    for (int i = 0; shim && i < 500; ++i) {
        runs = rt.status == "running" || rt.status == "paused";
        if (runs || exited() || (!starts && !rt.status.empty() && rt.status != "creating")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!process_alive(shim, "berth-shim")) shim = 0;
        rt = TRY(runtime_view(e, c));
    }
    if (shim && runs) {
        log::debug(cat("container ", c.id, " runs: recorded as started by an interrupted berth"));
        c.state = rt.status;
        c.pid = rt.pid;
        c.shim_pid = shim;
        c.started_at = now_rfc3339_nano();
        c.finished_at.clear();
        c.exit_code = 0;
        c.oom_killed = false;
        TRY(e.containers.update(c));
        container_event(e, c, "start");
        return {};
    }
    if (shim && starts && !exited()) return {};  // still starting after 10 s: the next command looks again
    log::debug(cat("undoing the start of container ", c.id, " that an interrupted berth left"));
    if (shim) {
        // First, so that it starts nothing more (an exit command of its that
        // already waits for the lock finds the container not running).
        ::kill(shim, SIGKILL);
        for (int i = 0; i < 100 && process_alive(shim, "berth-shim"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!rt.status.empty()) {
        std::string path = TRY(e.runtime_path(TRY(container_options(c)).runtime));
        auto out = TRY(run_program({path, "--root", e.paths.runtime_root(), "delete", "--force", c.id}));
        if (out.status != 0 && path_exists(e.paths.runtime_root() + "/" + c.id))
            return Err("delete ", c.id, " in the runtime: ", last_line(out.err));
    }
    TRY(unpublish_ports(e, c.id));
    drop_netns(e, c.id);
    if (shim) remove_tree(e.paths.shim_dir(c.id));
    return {};
}

// What a start leaves that a created or exited container should not have:
// its network namespace (port rules are set only inside it, and every path
// that drops it removes them first), or a shim at work. Not ports.json: an
// exited container keeps its claimed ports there (every ps would undo it).
bool start_left_over(Engine& e, const ContainerRecord& c) {
    if (c.state != "created" && c.state != "exited") return false;
    if (path_exists(netns_path(e, c.id))) return true;
    // An exited container's shim lives on for a moment after it wrote the
    // exit file (its exit command runs); a starting shim removes that file first.
    return !path_exists(e.paths.exit_file(c.id)) && live_shim(e, c.id) != 0;
}

}  // namespace

Result<void> repair_containers(Engine& e) {
    auto all = TRY(e.containers.list());
    // A lock file without a record: a create killed before its insert.
    std::set<std::string> known;
    for (const auto& c : all) known.insert(c.id);
    if (auto* d = ::opendir((e.paths.runroot + "/locks").c_str())) {
        std::vector<std::string> stale;
        while (auto* ent = ::readdir(d))
            if (ent->d_name[0] != '.' && !known.count(ent->d_name)) stale.push_back(ent->d_name);
        ::closedir(d);
        for (const auto& id : stale) {
            auto held = TRY(ContainerLock::try_take(e.paths, id));
            if (!held || TRY(e.containers.get(id))) continue;
            ::unlink(e.paths.lock_file(id).c_str());
        }
    }
    for (auto& c : all) {
        // A berth killed in the middle of a start (after make_netns, before
        // it recorded the container as running).
        if (start_left_over(e, c)) {
            auto held = TRY(ContainerLock::try_take(e.paths, c.id));
            auto again = held ? TRY(e.containers.get(c.id)) : std::nullopt;
            if (again && again->state == c.state) TRY(finish_interrupted_start(e, *again));
        }
        if (c.state != "creating" && c.state != "removing") continue;
        auto held = TRY(ContainerLock::try_take(e.paths, c.id));
        if (!held) continue;  // a live berth is working on it
        auto again = TRY(e.containers.get(c.id));
        if (!again || (again->state != "creating" && again->state != "removing")) continue;
        log::debug(cat("removing container ", c.id, " left ", c.state, " by an interrupted berth"));
        TRY(destroy(e, *again, true));
        ::unlink(e.paths.lock_file(c.id).c_str());
    }
    return {};
}

}  // namespace berth::manager
