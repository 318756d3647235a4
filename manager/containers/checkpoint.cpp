#include "manager/containers/checkpoint.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/commands.hpp"
#include "manager/containers/process.hpp"
#include "manager/containers/run_options.hpp"
#include "libutil/ip.hpp"
#include "manager/network/network_store.hpp"
#include "manager/network/setup.hpp"
#include "manager/volumes/volume_store.hpp"

namespace berth::manager {

namespace {

constexpr int kExportVersion = 1;

std::string images_dir(const Engine& e, const std::string& id) {
    return e.paths.dir(id) + "/checkpoint";
}

std::string work_dir(const Engine& e, const std::string& id) {
    return e.paths.dir(id) + "/checkpoint-work";
}

std::string pre_dir(const Engine& e, const std::string& id) {
    return e.paths.dir(id) + "/checkpoint-pre";
}

std::string checkpointed_file(const Engine& e, const std::string& id) {
    return e.paths.dir(id) + "/checkpointed";
}

// Runs a helper program (tar, cp); its last line of stderr is the error.
Result<void> run_tool(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null") {
    auto out = TRY(run_program(argv, stdin_path));
    if (out.status != 0) {
        std::string msg = last_line(out.err);
        return Err(msg.empty() ? cat(argv[0], " exited with ", out.status) : msg);
    }
    return {};
}

// The archive keeps the rootfs's overlay whiteouts (char 0:0) and the
// trusted.overlay.* xattrs of opaque dirs as they are.
const std::vector<std::string> kTarFlags = {"--xattrs", "--xattrs-include=*", "--numeric-owner", "--zstd"};

// The named volumes of the container whose content an archive carries:
// plain local ones (a tmpfs or a bind of a host device has nothing to carry).
Result<std::vector<std::string>> carried_volumes(Engine& e, const ContainerRecord& c) {
    std::vector<std::string> names;
    VolumeStore vs(e.db(), e.paths.root);
    for (const auto& u : TRY(container_volumes(e.db(), c.id))) {
        if (u.anonymous) continue;
        auto v = TRY(vs.get(u.name));
        if (v && v->options.empty()) names.push_back(u.name);
    }
    return names;
}

Result<void> write_archive(Engine& e, const ContainerRecord& c, const std::string& path, bool ignore_volumes) {
    std::string dir = e.paths.dir(c.id);
    std::string upper = e.storage.upper_dir(c.id);
    if (upper != dir + "/upper") return Err("container ", c.id, ": its rootfs is not in its dir");
    json::Value meta = json::Value::object();
    meta.set("version", json::Value::number(kExportVersion));
    meta.set("name", json::Value::string(c.name));
    meta.set("image_id", json::Value::string(c.image_id));
    meta.set("image", json::Value::string(c.image_name));
    meta.set("options", TRY_CTX(json::parse(c.options), "container ", c.id, ": options"));
    json::Value addresses = json::Value::object();
    for (const auto& l : TRY(NetworkStore(e.db()).leases_of_container(c.id))) {
        json::Value* list = nullptr;
        for (auto& [k, v] : addresses.members())
            if (k == l.network) list = &v;
        if (!list) list = &addresses.set(l.network, json::Value::array());
        list->push(json::Value::string(l.address.str()));
    }
    meta.set("addresses", std::move(addresses));
    std::string meta_path = dir + "/berth-export.json";
    TRY(write_file_atomic(meta_path, json::write(meta, true), 0600));
    std::string tmp = cat(path, ".tmp-", ::getpid());
    std::vector<std::string> argv = {"tar", "-c", "-f", tmp};
    argv.insert(argv.end(), kTarFlags.begin(), kTarFlags.end());
    argv.insert(argv.end(), {"-C", dir, "checkpoint", "berth-export.json", "upper"});
    if (path_exists(images_dir(e, c.id) + "/parent")) argv.push_back("checkpoint-pre");
    // ROOT/volumes/NAME/_data is "volumes/NAME/_data" from ROOT.
    if (!ignore_volumes) {
        auto volumes = TRY(carried_volumes(e, c));
        if (!volumes.empty()) argv.insert(argv.end(), {"-C", e.paths.root});
        for (const auto& v : volumes) argv.push_back("volumes/" + v + "/_data");
    }
    auto written = run_tool(argv);
    ::unlink(meta_path.c_str());
    if (written && ::rename(tmp.c_str(), path.c_str()) < 0) written = ErrnoErr("rename ", tmp, " to ", path);
    if (!written) {
        ::unlink(tmp.c_str());
        return Err("--export ", path, ": ", written.error().what());
    }
    return {};
}

// Restores the container (locked by the caller, not running) from its
// images. A failure leaves it as it was: exited, its rootfs unmounted.
Result<void> restore_here(Engine& e, ContainerRecord& c, const RestoreOptions& o) {
    std::string images = images_dir(e, c.id), work = work_dir(e, c.id);
    if (!path_exists(images)) return Err("container ", c.name, " has no checkpoint: make one with berth checkpoint");
    remove_tree(work);
    TRY(mkdir_all(work, 0700));
    RestoreFrom from{images, {"--work-path", work}};
    if (o.tcp_established) from.runtime_args.push_back("--tcp-established");
    if (o.file_locks) from.runtime_args.push_back("--file-locks");
    c.stop_requested = false;
    if (auto r = start_container(e, c, false, &from); !r) {
        if (auto m = e.storage.get(c.id); m && *m && (*m)->mount_count > 0) (void)e.storage.unmount(c.id, true);
        return Err("restore ", c.name, ": ", r.error().what());
    }
    if (!o.keep) remove_tree(work);
    return {};
}

// --publish given to restore replaces the published ports.
Result<void> apply_publish(RunOptions& opts, const RestoreOptions& o) {
    if (!o.publish) return {};
    opts.publish.clear();
    opts.publish_all = false;
    for (const auto& p : *o.publish) {
        auto reqs = TRY(parse_publish_flag(p));
        if (!has_own_networks(opts))
            return Err("--publish ", p, ": ports cannot be published with --network ", opts.network);
        opts.publish.insert(opts.publish.end(), reqs.begin(), reqs.end());
    }
    return {};
}

// A new container made from `opts` whose rootfs changes and checkpoint are
// moved or copied in by `fill`, then restored; removed again on failure.
Result<ContainerRecord> restore_new(Engine& e, RunOptions opts, const std::string& image_id, const RestoreOptions& o,
                                    const std::function<Result<void>(const ContainerRecord&)>& fill) {
    // The checkpoint's process was running: nothing to pull, attach or wait for.
    opts.detach = true;
    TRY(apply_publish(opts, o));
    auto c = TRY(create_container(e, opts));
    auto made = [&]() -> Result<ContainerRecord> {
        if (!image_id.empty() && c.image_id != image_id)
            return Err("image ", opts.image, " is ", c.image_id, " here, but the checkpoint was made over ", image_id);
        auto held = TRY(ContainerLock::take(e.paths, c.id));
        // The rootfs gets its upper dir while unmounted; restore mounts it.
        TRY(e.storage.unmount(c.id, true));
        TRY(fill(c));
        TRY(restore_here(e, c, o));
        return c;
    }();
    if (!made) {
        if (auto r = remove_container(e, c.id, true, true); !r)
            log::warn(cat("remove the container ", c.id, " the restore made: ", r.error().what()));
    }
    return made;
}

Result<ContainerRecord> restore_import(Engine& e, const RestoreOptions& o) {
    std::string tmp = e.paths.root + "/tmp/import-" + TRY(random_hex_id()).substr(0, 12);
    TRY(mkdir_all(tmp, 0700));
    auto restored = [&]() -> Result<ContainerRecord> {
        // "-": the archive comes on stdin (migrate over ssh).
        bool from_stdin = o.import_path == "-";
        std::vector<std::string> argv = {"tar", "-x", "-f", from_stdin ? "-" : o.import_path};
        argv.insert(argv.end(), kTarFlags.begin(), kTarFlags.end());
        argv.insert(argv.end(), {"-C", tmp});
        if (auto r = run_tool(argv, from_stdin ? "" : "/dev/null"); !r)
            return Err("--import ", o.import_path, ": not a berth checkpoint archive: ", r.error().what());
        std::string meta_path = tmp + "/berth-export.json";
        auto text = read_file(meta_path);
        if (!text || !path_exists(tmp + "/checkpoint") || !path_exists(tmp + "/upper"))
            return Err("--import ", o.import_path, ": not a berth checkpoint archive (no berth-export.json, "
                       "checkpoint/ or upper/ in it)");
        auto meta = TRY_CTX(json::parse(*text), "--import ", o.import_path, ": berth-export.json");
        const json::Value* version = meta.find("version");
        if (!version || version->as_int64().value_or(0) != kExportVersion)
            return Err("--import ", o.import_path, ": berth-export.json: version: not ", kExportVersion);
        const json::Value* options = meta.find("options");
        const json::Value* image_id = meta.find("image_id");
        const json::Value* name = meta.find("name");
        if (!options || !image_id || !image_id->is_string() || !name || !name->is_string())
            return Err("--import ", o.import_path, ": berth-export.json: options, image_id and name are needed");
        auto opts = TRY_CTX(run_options_from_json(*options), "--import ", o.import_path, ": berth-export.json: options");
        opts.name = o.name.empty() ? name->as_string() : o.name;
        // The same container again (no new name): the addresses it had on
        // its first network, so that its connections' ends still fit.
        if (o.name.empty() && !o.ignore_static_ip && !opts.networks.empty())
            if (const json::Value* addrs = meta.find("addresses"); addrs && addrs->is_object())
                if (const json::Value* first = addrs->find(opts.networks.front()); first && first->is_array())
                    for (const auto& a : first->items()) {
                        if (!a.is_string()) continue;
                        auto ip = parse_ip(a.as_string());
                        if (!ip) continue;
                        (ip->is_v4() ? opts.ip : opts.ip6) = a.as_string();
                    }
        // The archive's volumes that this root does not have yet get its
        // content; one that exists here is used as it is.
        std::vector<std::string> new_volumes;
        VolumeStore vs(e.db(), e.paths.root);
        for (const auto& m : opts.mounts) {
            if (m.type != MountRequest::Type::Volume || m.source.empty()) continue;
            if (!path_exists(cat(tmp, "/volumes/", m.source, "/_data"))) continue;
            if (TRY(vs.get(m.source)))
                log::warn(cat("volume ", m.source, " exists here: it is used as it is, not as the archive has it"));
            else
                new_volumes.push_back(m.source);
        }
        auto made = restore_new(e, opts, image_id->as_string(), o, [&](const ContainerRecord& c) -> Result<void> {
            for (const auto& v : new_volumes) {
                std::string data = vs.data_dir(v), from = cat(tmp, "/volumes/", v, "/_data");
                remove_tree(data);  // what a copy-up from the image put there
                if (::rename(from.c_str(), data.c_str()) < 0) return ErrnoErr("rename ", from, " to ", data);
            }
            std::string upper = e.storage.upper_dir(c.id);
            remove_tree(upper);
            if (::rename((tmp + "/upper").c_str(), upper.c_str()) < 0) return ErrnoErr("rename ", tmp, "/upper to ", upper);
            std::string images = images_dir(e, c.id);
            if (::rename((tmp + "/checkpoint").c_str(), images.c_str()) < 0)
                return ErrnoErr("rename ", tmp, "/checkpoint to ", images);
            if (path_exists(tmp + "/checkpoint-pre") && ::rename((tmp + "/checkpoint-pre").c_str(), pre_dir(e, c.id).c_str()) < 0)
                return ErrnoErr("rename ", tmp, "/checkpoint-pre to ", pre_dir(e, c.id));
            return {};
        });
        if (!made)  // the volumes the failed import made go with it
            for (const auto& v : new_volumes)
                if (auto r = vs.remove(v, true); !r) log::warn(r.error().what());
        return made;
    }();
    remove_tree(tmp);
    return restored;
}

Result<ContainerRecord> restore_copy(Engine& e, const ContainerRecord& src, const RestoreOptions& o) {
    if (!path_exists(images_dir(e, src.id)))
        return Err("container ", src.name, " has no checkpoint: make one with berth checkpoint");
    auto opts = TRY(container_options(src));
    opts.name = o.name;
    return restore_new(e, opts, src.image_id, o, [&](const ContainerRecord& c) -> Result<void> {
        TRY(run_tool({"cp", "-a", e.storage.upper_dir(src.id) + "/.", e.storage.upper_dir(c.id)}));
        if (path_exists(images_dir(e, src.id) + "/parent")) TRY(run_tool({"cp", "-a", pre_dir(e, src.id), pre_dir(e, c.id)}));
        return run_tool({"cp", "-a", images_dir(e, src.id), images_dir(e, c.id)});
    });
}

}  // namespace

Result<void> checkpoint_container(Engine& e, ContainerRecord& c, const CheckpointOptions& o) {
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    TRY(refresh(e, c));
    if (c.state != "running" && c.state != "paused") return Err("container ", c.name, " is not running");
    auto opts = TRY(container_options(c));
    if (opts.remove && !o.leave_running && o.export_path.empty())
        return Err("container ", c.name, " was run with --rm: its checkpoint would go with it (use --export or "
                   "--leave-running)");
    std::string images = images_dir(e, c.id), fresh = images + ".new", work = work_dir(e, c.id);
    if (o.pre_checkpoint) {
        // The container runs on; the next --with-previous dump writes only
        // the memory that changed since.
        std::string pre = pre_dir(e, c.id), pre_new = pre + ".new";
        remove_tree(pre_new);
        remove_tree(work);
        TRY(mkdir_all(work, 0700));
        auto dumped = runtime_command(e, c, {"checkpoint", "--pre-dump", "--image-path", pre_new, "--work-path", work, c.id});
        if (!dumped) {
            remove_tree(pre_new);
            return Err("checkpoint --pre-checkpoint ", c.name, ": ", dumped.error().what());
        }
        remove_tree(pre);
        if (::rename(pre_new.c_str(), pre.c_str()) < 0) return ErrnoErr("rename ", pre_new, " to ", pre);
        if (!o.keep) remove_tree(work);
        return {};
    }
    if (o.with_previous && !path_exists(pre_dir(e, c.id)))
        return Err("--with-previous: container ", c.name, " has no pre-checkpoint (make one with --pre-checkpoint)");
    remove_tree(fresh);
    remove_tree(work);
    TRY(mkdir_all(work, 0700));
    bool stop_requested = c.stop_requested;
    if (!o.leave_running) {
        c.stop_requested = true;  // no restart policy brings it back
        TRY(e.containers.update(c));
    }
    std::vector<std::string> args = {"checkpoint", "--image-path", fresh, "--work-path", work};
    if (o.leave_running) args.push_back("--leave-running");
    if (o.tcp_established) args.push_back("--tcp-established");
    if (o.file_locks) args.push_back("--file-locks");
    // CRIU takes the parent relative to the images dir (a link "parent").
    if (o.with_previous) args.insert(args.end(), {"--parent-path", "../checkpoint-pre"});
    args.push_back(c.id);
    // A network namespace of its own was given by path: the runtime tells
    // CRIU it is external, and the restore gets a new one, wired as at start.
    auto dumped = runtime_command(e, c, args);
    if (!dumped) {
        remove_tree(fresh);
        if (!o.leave_running) {
            c.stop_requested = stop_requested;
            (void)e.containers.update(c);
        }
        return Err("checkpoint ", c.name, ": ", dumped.error().what());
    }
    remove_tree(images);
    if (::rename(fresh.c_str(), images.c_str()) < 0) return ErrnoErr("rename ", fresh, " to ", images);
    if (!o.keep) remove_tree(work);
    if (!o.leave_running) {
        TRY(write_file_atomic(checkpointed_file(e, c.id), now_rfc3339_nano() + "\n", 0600));
        // CRIU killed the process; its shim records the exit (its exit
        // command, which needs this lock, unmounts the rootfs afterwards).
        if (!wait_for_exit(e, c.id, 30000)) log::warn(cat("container ", c.name, ": no exit recorded after the dump"));
        TRY(refresh(e, c));
    }
    if (!o.export_path.empty()) TRY(write_archive(e, c, o.export_path, o.ignore_volumes));
    return {};
}

std::string checkpointed_at(const Engine& e, const std::string& id) {
    return std::string(trim(read_file(checkpointed_file(e, id)).value_or("")));
}

std::string checkpoint_path(const Engine& e, const std::string& id) {
    std::string p = images_dir(e, id);
    return path_exists(p) ? p : "";
}

Result<ContainerRecord> restore_container(Engine& e, const std::string& container, const RestoreOptions& o) {
    if (!o.import_path.empty()) return restore_import(e, o);
    auto src = TRY(e.containers.find(container));
    if (!o.name.empty()) return restore_copy(e, src, o);
    auto held = TRY(ContainerLock::take(e.paths, src.id));
    auto c = TRY(e.containers.get(src.id));
    if (!c) return Err("no such container: ", container);
    TRY(refresh(e, *c));
    if (c->state == "running" || c->state == "paused")
        return Err("container ", c->name, " is running: restore it under a new name with --name, or stop it first");
    std::string options = c->options;
    if (o.publish) {
        auto opts = TRY(container_options(*c));
        TRY(apply_publish(opts, o));
        c->options = json::write(to_json(opts));
        TRY(e.containers.update(*c));
    }
    if (auto r = restore_here(e, *c, o); !r) {
        if (c->options != options) {
            c->options = options;  // the ports it had
            (void)e.containers.update(*c);
        }
        return std::unexpected(r.error());
    }
    return *c;
}

namespace {

// ssh://[USER@]HOST[:PORT][/ROOT]
struct SshTarget {
    std::string destination;  // USER@HOST or HOST
    std::string port;
    std::string root;  // the berth root there; "" for its default
};

Result<SshTarget> parse_ssh_target(const std::string& to) {
    auto bad = [&](std::string_view why) { return Err("--to ", to, ": ", why); };
    std::string_view rest = std::string_view(to).substr(std::string_view("ssh://").size());
    SshTarget t;
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
        t.root = std::string(rest.substr(slash));
        rest = rest.substr(0, slash);
    }
    size_t at = rest.rfind('@');
    std::string_view user = at == std::string_view::npos ? "" : rest.substr(0, at);
    std::string_view hostport = at == std::string_view::npos ? rest : rest.substr(at + 1);
    std::string_view host = hostport;
    if (hostport.starts_with('[')) {  // [IPv6]:PORT
        size_t close = hostport.find(']');
        if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
        host = hostport.substr(1, close - 1);
        std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return bad("expected :PORT after ']'");
            t.port = std::string(after.substr(1));
        }
    } else if (size_t colon = hostport.find(':'); colon != std::string_view::npos) {
        host = hostport.substr(0, colon);
        t.port = std::string(hostport.substr(colon + 1));
    }
    if (host.empty()) return bad("no host");
    if (!t.port.empty() && (!parse_u64(t.port) || *parse_u64(t.port) == 0 || *parse_u64(t.port) > 65535))
        return bad("the port is not a number from 1 to 65535");
    t.destination = user.empty() ? std::string(host) : cat(user, "@", host);
    return t;
}

// A word for the remote shell.
std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    for (auto w : split(s, ' '))
        if (!trim(w).empty()) out.emplace_back(trim(w));
    return out;
}

}  // namespace

Result<std::string> migrate_container(Engine& e, ContainerRecord& c, const MigrateOptions& mo) {
    bool remote = mo.to.starts_with("ssh://");
    std::vector<std::string> argv;
    if (remote) {
        auto t = TRY(parse_ssh_target(mo.to));
        const char* ssh = std::getenv("BERTH_SSH");
        argv = words(ssh && *ssh ? ssh : "ssh");
        if (!t.port.empty()) argv.insert(argv.end(), {"-p", t.port});
        argv.push_back(t.destination);
        std::string cmd = mo.remote_berth.empty() ? "berth" : mo.remote_berth;
        if (!t.root.empty()) cmd += " --root " + shell_quote(t.root);
        cmd += " restore --import -";
        if (mo.tcp_established) cmd += " --tcp-established";
        argv.push_back(cmd);
    } else {
        if (mo.to.empty() || mo.to[0] != '/') return Err("--to ", mo.to, ": an absolute directory or ssh://HOST");
        std::error_code ec;
        if (std::filesystem::weakly_canonical(mo.to, ec).string() ==
            std::filesystem::weakly_canonical(e.paths.root, ec).string())
            return Err("--to ", mo.to, ": that is this container's own root");
        argv = {self_exe(), "--root", mo.to, "restore", "--import", ""};
        if (mo.tcp_established) argv.push_back("--tcp-established");
    }
    TRY(mkdir_all(e.paths.root + "/tmp", 0700));
    std::string archive = cat(e.paths.root, "/tmp/migrate-", c.id, ".tar.zst");
    if (!remote) argv[5] = archive;
    CheckpointOptions co;
    co.export_path = archive;
    co.tcp_established = mo.tcp_established;
    TRY(checkpoint_container(e, c, co));
    // Over ssh the archive goes on the remote berth's stdin.
    auto out = run_program(argv, remote ? archive : "/dev/null");
    ::unlink(archive.c_str());
    if (!out || out->status != 0) {
        std::string why = out ? last_line(out->err) : out.error().what();
        if (why.empty()) why = cat(argv[0], " exited with ", out->status);
        RestoreOptions back;
        back.tcp_established = mo.tcp_established;
        auto again = restore_container(e, c.id, back);
        return Err("migrate ", c.name, " to ", mo.to, ": ", why,
                   again ? " (it runs here again)" : cat("; restoring it here failed too: ", again.error().what()));
    }
    // --rm: its cleanup may have removed it already.
    if (auto r = remove_container(e, c.id, true, true); !r && r.error().message.find("no such container") == std::string::npos)
        log::warn(cat("remove ", c.name, " after the migration: ", r.error().what()));
    return std::string(trim(out->out));
}

}  // namespace berth::manager
