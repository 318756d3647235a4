// /containers: list, create, inspect, start, stop, restart, kill, pause,
// unpause, delete. A create's JSON (docker's Config + HostConfig +
// NetworkingConfig) becomes the flags `berth create` would get, so both
// go through one parser with one set of checks and defaults.
#include <unistd.h>

#include <cmath>

#include "libutil/signals.hpp"
#include "libutil/strings.hpp"
#include "manager/containers/inspect.hpp"
#include "manager/containers/run_options.hpp"
#include "manager/containers/tidy.hpp"
#include "manager/network/setup.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

const json::Value* member(const json::Value* v, std::string_view key) {
    return v && v->is_object() ? v->find(key) : nullptr;
}

std::string string_of(const json::Value* v) {
    return v && v->is_string() ? v->as_string() : std::string();
}

int64_t int_of(const json::Value* v) {
    return v ? v->as_int64().value_or(0) : 0;
}

bool bool_of(const json::Value* v) {
    return v && v->is_bool() && v->as_bool();
}

// The flags of `berth create` for docker's HostConfig.
void host_config_flags(const json::Value* h, std::vector<std::string>& f) {
    auto flag = [&](const std::string& name, const std::string& value) { f.insert(f.end(), {name, value}); };
    for (const auto& b : strings_of(member(h, "Binds"))) flag("--volume", b);
    if (auto* ms = member(h, "Mounts"); ms && ms->is_array())
        for (const auto& m : ms->items()) {
            std::string spec = cat("type=", string_of(member(&m, "Type")), ",destination=", string_of(member(&m, "Target")));
            if (std::string src = string_of(member(&m, "Source")); !src.empty()) spec += ",source=" + src;
            if (bool_of(member(&m, "ReadOnly"))) spec += ",readonly";
            auto* to = member(&m, "TmpfsOptions");
            if (int64_t size = int_of(member(to, "SizeBytes")); size > 0) spec += cat(",tmpfs-size=", size);
            if (int64_t mode = int_of(member(to, "Mode")); mode > 0) spec += cat(",tmpfs-mode=", mode);
            if (bool_of(member(member(&m, "VolumeOptions"), "NoCopy"))) spec += ",volume-nocopy";
            flag("--mount", spec);
        }
    if (auto* t = member(h, "Tmpfs"); t && t->is_object())
        for (const auto& [path, opts] : t->members())
            flag("--tmpfs", opts.is_string() && !opts.as_string().empty() ? path + ":" + opts.as_string() : path);
    if (bool_of(member(h, "ReadonlyRootfs"))) f.push_back("--read-only");
    if (bool_of(member(h, "Privileged"))) f.push_back("--privileged");
    if (bool_of(member(h, "AutoRemove"))) f.push_back("--rm");
    if (bool_of(member(h, "Init"))) f.push_back("--init");
    if (bool_of(member(h, "PublishAllPorts"))) f.push_back("--publish-all");
    for (const auto& c : strings_of(member(h, "CapAdd"))) flag("--cap-add", c);
    for (const auto& c : strings_of(member(h, "CapDrop"))) flag("--cap-drop", c);
    for (const auto& s : strings_of(member(h, "SecurityOpt"))) flag("--security-opt", s);
    if (int64_t m = int_of(member(h, "Memory")); m != 0) flag("--memory", std::to_string(m));
    if (int64_t m = int_of(member(h, "MemorySwap")); m != 0) flag("--memory-swap", std::to_string(m));
    if (int64_t n = int_of(member(h, "NanoCpus")); n != 0) flag("--cpus", std::to_string(static_cast<double>(n) / 1e9));
    if (int64_t p = int_of(member(h, "PidsLimit")); p != 0) flag("--pids-limit", std::to_string(p));
    if (auto* rp = member(h, "RestartPolicy")) {
        std::string name = string_of(member(rp, "Name"));
        int64_t n = int_of(member(rp, "MaximumRetryCount"));
        if (!name.empty()) flag("--restart", name == "on-failure" && n > 0 ? cat(name, ":", n) : name);
    }
    std::string net = string_of(member(h, "NetworkMode"));
    if (!net.empty() && net != "default") flag("--network", net);
    if (auto* pb = member(h, "PortBindings"); pb && pb->is_object())
        for (const auto& [port, list] : pb->members()) {
            if (!list.is_array() || list.items().empty()) {
                flag("--publish", port);
                continue;
            }
            for (const auto& b : list.items()) {
                std::string ip = string_of(member(&b, "HostIp")), hp = string_of(member(&b, "HostPort"));
                if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
                flag("--publish", ip.empty() ? (hp.empty() ? port : hp + ":" + port) : cat(ip, ":", hp, ":", port));
            }
        }
    for (const auto& d : strings_of(member(h, "Dns"))) flag("--dns", d);
    for (const auto& d : strings_of(member(h, "DnsSearch"))) flag("--dns-search", d);
    for (const auto& d : strings_of(member(h, "DnsOptions"))) flag("--dns-option", d);
    for (const auto& x : strings_of(member(h, "ExtraHosts"))) flag("--add-host", x);
    if (std::string rt = string_of(member(h, "Runtime")); !rt.empty() && rt != "berth-runtime") flag("--runtime", rt);
    if (auto* lc = member(member(h, "LogConfig"), "Config"); lc && lc->is_object())
        if (auto* ms = lc->find("max-size"); ms && ms->is_string()) flag("--log-opt", "max-size=" + ms->as_string());
}

// docker's create body as `berth create` flags, then IMAGE.
std::expected<RunOptions, HttpError> run_options_of(Call& c, const json::Value& body) {
    if (!body.is_object()) return std::unexpected(http_error(400, "the body is not a JSON object"));
    std::string image = string_of(body.find("Image"));
    if (image.empty()) return std::unexpected(http_error(400, "Config.Image: no image given"));
    std::vector<std::string> f = {"create"};
    auto flag = [&](const std::string& name, const std::string& value) { f.insert(f.end(), {name, value}); };
    if (c.req.has_param("name")) flag("--name", c.req.param("name"));
    if (auto h = string_of(body.find("Hostname")); !h.empty()) flag("--hostname", h);
    if (auto u = string_of(body.find("User")); !u.empty()) flag("--user", u);
    if (auto w = string_of(body.find("WorkingDir")); !w.empty()) flag("--workdir", w);
    if (auto s = string_of(body.find("StopSignal")); !s.empty()) flag("--stop-signal", s);
    if (auto* t = body.find("StopTimeout"); t && t->as_int64()) flag("--stop-timeout", std::to_string(*t->as_int64()));
    // "KEY" alone (no "=") is the client's to resolve; docker drops it too.
    for (const auto& e : strings_of(body.find("Env")))
        if (e.find('=') != std::string::npos) flag("--env", e);
    if (auto* l = body.find("Labels"); l && l->is_object())
        for (const auto& [k, v] : l->members()) flag("--label", k + "=" + (v.is_string() ? v.as_string() : ""));
    if (bool_of(body.find("Tty"))) f.push_back("--tty");
    if (bool_of(body.find("OpenStdin"))) f.push_back("--interactive");
    host_config_flags(body.find("HostConfig"), f);
    if (auto* eps = member(body.find("NetworkingConfig"), "EndpointsConfig"); eps && eps->is_object())
        for (const auto& [net, cfg] : eps->members()) {
            for (const auto& a : strings_of(member(&cfg, "Aliases"))) flag("--network-alias", a);
            auto* ipam = member(&cfg, "IPAMConfig");
            if (auto ip = string_of(member(ipam, "IPv4Address")); !ip.empty()) flag("--ip", ip);
            if (auto ip = string_of(member(ipam, "IPv6Address")); !ip.empty()) flag("--ip6", ip);
        }
    // The image must be here: docker's create does not pull (its CLI does,
    // on this 404).
    flag("--pull", "never");
    f.push_back(image);
    std::vector<char*> argv;
    for (auto& s : f) argv.push_back(s.data());
    std::vector<std::string> notes;
    auto o = parse_run_options(static_cast<int>(argv.size()), argv.data(), 1, &notes);
    if (!o) return std::unexpected(http_error(400, o.error().what()));
    if (auto* cmd = body.find("Cmd"); cmd && cmd->is_array()) o->command = strings_of(cmd);
    if (auto* ep = body.find("Entrypoint"); ep && ep->is_array()) {
        auto v = strings_of(ep);
        if (v.size() == 1 && v[0].empty()) v.clear();
        o->entrypoint = v;
    } else if (ep && ep->is_string()) {
        o->entrypoint = ep->as_string().empty() ? std::vector<std::string>{} : std::vector<std::string>{ep->as_string()};
    }
    o->detach = true;
    return std::move(*o);
}

// docker's Ports of a list entry.
json::Value list_ports(Engine& e, const ContainerRecord& c) {
    auto ports = json::Value::array();
    if (c.state != "running" && c.state != "paused") return ports;
    for (const auto& p : published_ports(e, c.id).value_or(std::vector<PortBinding>{})) {
        auto v = json::Value::object();
        v.set("IP", str(p.host_ip.empty() ? "0.0.0.0" : p.host_ip));
        v.set("PrivatePort", json::Value::number(static_cast<int64_t>(p.container_port)));
        v.set("PublicPort", json::Value::number(static_cast<int64_t>(p.host_port)));
        v.set("Type", str(p.proto));
        ports.push(std::move(v));
    }
    return ports;
}

// filters={"status":["running"],"name":["web"],"id":[...],"label":["k=v"],"ancestor":[...]}
bool passes(const std::map<std::string, std::vector<std::string>>& filters, const ContainerRecord& c,
            const std::map<std::string, std::string>& labels) {
    for (const auto& [key, want] : filters) {
        if (key == "label") {
            if (!labels_match(labels, want)) return false;
            continue;
        }
        bool any = want.empty();
        for (const auto& w : want) {
            if (key == "status") any = any || c.state == w;
            else if (key == "name") any = any || c.name.find(w.starts_with("/") ? w.substr(1) : w) != std::string::npos;
            else if (key == "id") any = any || c.id.starts_with(w);
            else any = any || c.image_name == w || c.image_id.find(w) != std::string::npos;
        }
        if (!any) return false;
    }
    return true;
}

std::expected<ContainerRecord, HttpError> refreshed(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    if (auto lock = ContainerLock::try_take(e->paths, rec.id); lock && *lock) (void)refresh(*e, rec);
    return rec;
}

bool running(const ContainerRecord& c) {
    return c.state == "running" || c.state == "paused";
}

// docker's failed start: the attach requests end, an auto-remove container
// goes, another stays "created"; the message says why (the docker CLI
// exits 127 on "executable file not found", 126 on "permission denied").
HttpError start_failed(Engine& e, const ContainerRecord& rec, const Error& err) {
    drop_attach_waiters(e, rec.id);
    auto o = container_options(rec);
    if (o && o->remove) (void)remove_container(e, rec.id, true, true);
    return http_error(400, err.what());
}

}  // namespace

ApiResult containers_list(Call& c) {
    Engine* e = TRY(c.engine());
    auto filters = TRY(query_filters(c, {"status", "name", "id", "label", "ancestor"}));
    auto list = e->containers.list();
    if (!list) return std::unexpected(api_error(list.error()));
    bool all = c.req.flag("all");
    int64_t limit = -1;
    if (c.req.has_param("limit")) limit = parse_i64(c.req.param("limit")).value_or(-1);
    auto out = json::Value::array();
    // Newest first, as docker lists.
    for (auto it = list->rbegin(); it != list->rend(); ++it) {
        ContainerRecord& ct = *it;
        if (auto lock = ContainerLock::try_take(e->paths, ct.id); lock && *lock) (void)refresh(*e, ct);
        if (!all && !running(ct) && limit < 0) continue;
        auto o = container_options(ct).value_or(RunOptions{});
        if (!passes(filters, ct, o.labels)) continue;
        if (limit >= 0 && static_cast<int64_t>(out.items().size()) >= limit) break;
        auto v = json::Value::object();
        v.set("Id", str(ct.id));
        auto names = json::Value::array();
        names.push(str("/" + ct.name));
        v.set("Names", std::move(names));
        v.set("Image", str(ct.image_name));
        v.set("ImageID", str(ct.image_id));
        v.set("Command", str(command_of(bundle_spec(*e, ct))));
        v.set("Created", json::Value::number(static_cast<int64_t>(parse_time(ct.created))));
        v.set("Ports", list_ports(*e, ct));
        auto labels = json::Value::object();
        for (const auto& [k, val] : o.labels) labels.set(k, str(val));
        v.set("Labels", std::move(labels));
        v.set("State", str(ct.state));
        v.set("Status", str(status_text(ct)));
        auto hc = json::Value::object();
        hc.set("NetworkMode", str(o.network));
        v.set("HostConfig", std::move(hc));
        auto ns = network_settings(*e, ct);
        auto nets = json::Value::object();
        if (auto* n = ns.find("Networks")) nets.set("Networks", *n);
        v.set("NetworkSettings", std::move(nets));
        v.set("Mounts", json::Value::array());
        out.push(std::move(v));
    }
    return send_json(c, 200, out);
}

ApiResult container_create(Call& c) {
    auto body = TRY(read_json(c));
    auto o = TRY(run_options_of(c, body));
    Engine* e = TRY(c.engine());
    if (!find_image_record(e->db(), e->global, o.image))
        return std::unexpected(http_error(404, cat("No such image: ", o.image)));
    auto ct = create_container(*e, o);
    if (!ct) return std::unexpected(api_error(ct.error()));
    auto v = json::Value::object();
    v.set("Id", str(ct->id));
    v.set("Warnings", json::Value::array());
    return send_json(c, 201, v);
}

ApiResult container_inspect(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    return send_json(c, 200, inspect_json(*e, rec));
}

ApiResult container_start(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    bool attach;
    Result<void> started;
    {
        auto held = ContainerLock::take(e->paths, rec.id);
        if (!held) return std::unexpected(api_error(held.error()));
        if (auto r = refresh(*e, rec); !r) return std::unexpected(api_error(r.error()));
        if (running(rec)) return send_empty(c, 304);
        rec.stop_requested = false;
        // An attach that came first gets all the output: the process waits
        // until it is connected.
        attach = has_attach_waiters(*e, rec.id);
        started = start_container(*e, rec, attach);
    }  // released: a removal takes it
    if (!started) return std::unexpected(start_failed(*e, rec, started.error()));
    if (attach) {
        wait_attachers_connected(*e, rec.id, 10000);
        if (auto r = start_process(*e, rec); !r) return std::unexpected(start_failed(*e, rec, r.error()));
    }
    return send_empty(c, 204);
}

ApiResult container_stop(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    if (!running(rec)) return send_empty(c, 304);
    std::optional<int> timeout;
    if (c.req.has_param("t")) {
        auto t = parse_i64(c.req.param("t"));
        if (!t || *t < -1) return std::unexpected(http_error(400, cat("invalid value for t: ", c.req.param("t"))));
        timeout = static_cast<int>(*t);
    }
    if (auto r = stop_container(*e, rec, timeout); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

ApiResult container_restart(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    std::optional<int> timeout;
    if (c.req.has_param("t")) timeout = static_cast<int>(parse_i64(c.req.param("t")).value_or(10));
    if (auto r = stop_container(*e, rec, timeout); !r) return std::unexpected(api_error(r.error()));
    auto held = ContainerLock::take(e->paths, rec.id);
    if (!held) return std::unexpected(api_error(held.error()));
    auto now = e->containers.get(rec.id);
    if (!now || !*now) return std::unexpected(http_error(404, cat("No such container: ", c.args.at(0))));
    (void)refresh(*e, **now);
    (*now)->stop_requested = false;
    if (auto r = start_container(*e, **now, false); !r) return std::unexpected(http_error(500, r.error().what()));
    return send_empty(c, 204);
}

ApiResult container_kill(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    std::string s = c.req.param("signal");
    auto sig = parse_signal(s.empty() ? "KILL" : s);
    if (!sig) return std::unexpected(http_error(400, cat("invalid signal: ", s)));
    if (!running(rec)) return std::unexpected(http_error(409, cat("Container ", rec.id, " is not running")));
    if (auto r = kill_container(*e, rec, *sig); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

ApiResult container_pause(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    if (auto r = pause_container(*e, rec, true); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

ApiResult container_unpause(Call& c) {
    auto rec = TRY(refreshed(c));
    Engine* e = TRY(c.engine());
    if (auto r = pause_container(*e, rec, false); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

ApiResult container_delete(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    if (auto r = remove_container(*e, rec.id, c.req.flag("force"), c.req.flag("v")); !r) {
        auto err = api_error(r.error());
        if (err.status == 409 && !c.req.flag("force"))
            err.message = cat("You cannot remove a running container ", rec.id,
                              ". Stop the container before attempting removal or force remove");
        return std::unexpected(err);
    }
    return send_empty(c, 204);
}

ApiResult container_rename(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    std::string name = c.req.param("name");
    if (name.starts_with("/")) name.erase(0, 1);
    if (name.empty()) return std::unexpected(http_error(400, "a new name is needed (name)"));
    if (auto r = rename_container(*e, rec, name); !r) return std::unexpected(api_error(r.error()));
    return send_empty(c, 204);
}

// docker's kinds: 0 changed, 1 added, 2 deleted.
ApiResult container_changes(Call& c) {
    auto rec = TRY(find_container(c, c.args.at(0)));
    Engine* e = TRY(c.engine());
    auto changes = container_changes(*e, rec);
    if (!changes) return std::unexpected(api_error(changes.error()));
    auto out = json::Value::array();
    for (const auto& [path, kind] : *changes) {
        auto o = json::Value::object();
        o.set("Path", str(path));
        o.set("Kind", json::Value::number(kind == 'C' ? 0 : kind == 'A' ? 1 : 2));
        out.push(std::move(o));
    }
    return send_json(c, 200, out);
}

ApiResult containers_prune(Call& c) {
    auto filters = TRY(query_filters(c, {}));
    (void)filters;
    Engine* e = TRY(c.engine());
    auto pruned = prune_containers(*e);
    if (!pruned) return std::unexpected(api_error(pruned.error()));
    if (pruned->error) return std::unexpected(api_error(*pruned->error));
    auto ids = json::Value::array();
    for (const auto& id : pruned->removed) ids.push(str(id));
    auto v = json::Value::object();
    v.set("ContainersDeleted", std::move(ids));
    v.set("SpaceReclaimed", json::Value::number(0));
    return send_json(c, 200, v);
}

}  // namespace berth::manager::serve
