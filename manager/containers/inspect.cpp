#include "manager/containers/inspect.hpp"

#include "libutil/strings.hpp"
#include "manager/containers/checkpoint.hpp"
#include "manager/containers/run_options.hpp"
#include "manager/network/setup.hpp"
#include "manager/network/text.hpp"

namespace berth::manager {

namespace {

// "5 seconds", "About a minute", "3 hours": docker's duration words.
std::string human_duration(std::time_t secs) {
    if (secs < 1) return "Less than a second";
    if (secs < 60) return cat(secs, " second", secs == 1 ? "" : "s");
    if (secs < 120) return "About a minute";
    if (secs < 3600) return cat(secs / 60, " minutes");
    if (secs < 7200) return "About an hour";
    if (secs < 48 * 3600) return cat(secs / 3600, " hours");
    return cat(secs / 86400, " days");
}

json::Value strings(const std::vector<std::string>& v) {
    auto a = json::Value::array();
    for (const auto& s : v) a.push(json::Value::string(s));
    return a;
}

}  // namespace

std::time_t parse_time(const std::string& t) {
    std::tm tm{};
    if (t.empty() || !::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    return ::timegm(&tm);
}


std::string status_text(const ContainerRecord& c) {
    std::time_t now = std::time(nullptr);
    if (c.state == "running") return "Up " + human_duration(now - parse_time(c.started_at));
    if (c.state == "paused") return "Up " + human_duration(now - parse_time(c.started_at)) + " (Paused)";
    if (c.state == "exited")
        return cat("Exited (", c.exit_code, ") ", human_duration(now - parse_time(c.finished_at)), " ago");
    if (c.state == "created") return "Created";
    return c.state;
}

// The spec the container runs with (args, env, ...), when its bundle is there.
json::Value bundle_spec(Engine& e, const ContainerRecord& c) {
    auto text = read_file(e.paths.dir(c.id) + "/config.json");
    if (!text) return json::Value::object();
    auto v = json::parse(*text);
    return v ? std::move(*v) : json::Value::object();
}

std::string command_of(const json::Value& spec) {
    std::vector<std::string> args;
    if (auto* p = spec.find("process"))
        if (auto* a = p->find("args"); a && a->is_array())
            for (const auto& s : a->items()) args.push_back(s.as_string());
    return join(args, " ");
}


// docker's PORTS column: "127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp".
std::string ports_text(Engine& e, const ContainerRecord& c) {
    if (c.state != "running" && c.state != "paused") return "";
    std::vector<std::string> parts;
    for (const auto& p : published_ports(e, c.id).value_or(std::vector<PortBinding>{})) {
        std::string ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
        if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
        parts.push_back(cat(ip, ":", p.host_port, "->", p.container_port, "/", p.proto));
    }
    return join(parts, ", ");
}

// docker's NetworkSettings: one entry per network (from the leases), the
// first network's addresses at the top level, and the ports bound at the
// last start while the container runs.
json::Value network_settings(Engine& e, const ContainerRecord& c) {
    auto ns = json::Value::object();
    auto nets = json::Value::object();
    NetworkStore store(e.db());
    std::string first;
    auto leases = store.leases_of_container(c.id).value_or(std::vector<Lease>{});
    for (const auto& l : leases) {
        auto net = store.get(l.network).value_or(std::nullopt);
        if (!nets.find(l.network)) {
            auto n = json::Value::object();
            n.set("NetworkID", json::Value::string(net ? net->id : ""));
            n.set("Aliases", strings(l.aliases));
            n.set("IPAddress", json::Value::string(""));
            n.set("IPPrefixLen", json::Value::number(0));
            n.set("Gateway", json::Value::string(""));
            n.set("GlobalIPv6Address", json::Value::string(""));
            n.set("GlobalIPv6PrefixLen", json::Value::number(0));
            n.set("IPv6Gateway", json::Value::string(""));
            n.set("InterfaceName", json::Value::string(l.iface));
            nets.set(l.network, std::move(n));
            if (first.empty() || l.iface == "eth0") first = l.network;
        }
        for (auto& [name, n] : nets.members()) {
            if (name != l.network) continue;
            bool v4 = l.address.is_v4();
            n.set(v4 ? "IPAddress" : "GlobalIPv6Address", json::Value::string(l.address.str()));
            n.set(v4 ? "IPPrefixLen" : "GlobalIPv6PrefixLen", json::Value::number(l.prefix));
            if (net) {
                const auto& gw = v4 ? net->gateway4 : net->gateway6;
                n.set(v4 ? "Gateway" : "IPv6Gateway", json::Value::string(gw.empty() ? "" : gw.str()));
            }
        }
    }
    for (auto& [name, n] : nets.members()) {
        std::vector<IpAddress> addresses;
        for (const auto& l : leases)
            if (l.network == name) addresses.push_back(l.address);
        auto mac = interface_mac(addresses);
        n.set("MacAddress", json::Value::string(mac ? mac_text(*mac) : ""));
    }
    for (const char* key : {"IPAddress", "IPPrefixLen", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPv6Gateway"}) {
        const json::Value* n = first.empty() ? nullptr : nets.find(first);
        const json::Value* f = n ? n->find(key) : nullptr;
        ns.set(key, f ? *f : (std::string_view(key).ends_with("Len") ? json::Value::number(0) : json::Value::string("")));
    }
    ns.set("Networks", std::move(nets));
    auto ports = json::Value::object();
    if (c.state == "running" || c.state == "paused")
        for (const auto& p : published_ports(e, c.id).value_or(std::vector<PortBinding>{})) {
            std::string key = cat(p.container_port, "/", p.proto);
            auto b = json::Value::object();
            b.set("HostIp", json::Value::string(p.host_ip.empty() ? "0.0.0.0" : p.host_ip));
            b.set("HostPort", json::Value::string(std::to_string(p.host_port)));
            auto list = ports.find(key) ? *ports.find(key) : json::Value::array();
            list.push(std::move(b));
            ports.set(key, std::move(list));
        }
    ns.set("Ports", std::move(ports));
    return ns;
}

json::Value inspect_json(Engine& e, const ContainerRecord& c) {
    auto spec = bundle_spec(e, c);
    auto o = container_options(c).value_or(RunOptions{});
    auto v = json::Value::object();
    v.set("Id", json::Value::string(c.id));
    v.set("Created", json::Value::string(c.created));
    const json::Value* process = spec.find("process");
    std::vector<std::string> args;
    if (process)
        if (auto* a = process->find("args"); a && a->is_array())
            for (const auto& s : a->items()) args.push_back(s.as_string());
    v.set("Path", json::Value::string(args.empty() ? "" : args[0]));
    v.set("Args", strings(args.empty() ? args : std::vector<std::string>(args.begin() + 1, args.end())));
    auto st = json::Value::object();
    st.set("Status", json::Value::string(c.state));
    st.set("Running", json::Value::boolean(c.state == "running" || c.state == "paused"));
    st.set("Paused", json::Value::boolean(c.state == "paused"));
    st.set("Restarting", json::Value::boolean(false));
    st.set("OOMKilled", json::Value::boolean(c.oom_killed));
    st.set("Dead", json::Value::boolean(false));
    st.set("Pid", json::Value::number(c.pid));
    st.set("ExitCode", json::Value::number(c.exit_code));
    st.set("StartedAt", json::Value::string(c.started_at));
    st.set("FinishedAt", json::Value::string(c.finished_at));
    std::string checkpointed = checkpointed_at(e, c.id);
    st.set("Checkpointed", json::Value::boolean(!checkpointed.empty() && c.state == "exited"));
    st.set("CheckpointedAt", json::Value::string(checkpointed));
    st.set("CheckpointPath", json::Value::string(checkpoint_path(e, c.id)));
    v.set("State", std::move(st));
    v.set("Image", json::Value::string(c.image_id));
    v.set("ImageName", json::Value::string(c.image_name));
    v.set("Name", json::Value::string("/" + c.name));
    v.set("RestartCount", json::Value::number(c.restart_count));
    v.set("LogPath", json::Value::string(e.paths.log(c.id)));
    auto cfg = json::Value::object();
    if (auto* h = spec.find("hostname")) cfg.set("Hostname", *h);
    if (process) {
        if (auto* env = process->find("env")) cfg.set("Env", *env);
        if (auto* cwd = process->find("cwd")) cfg.set("WorkingDir", *cwd);
        // docker's User is what was asked for ("1000", "nobody:staff").
        cfg.set("User", json::Value::string(o.user));
        cfg.set("Cmd", strings(args));
        if (auto* t = process->find("terminal")) cfg.set("Tty", *t);
    }
    cfg.set("Image", json::Value::string(c.image_name));
    cfg.set("OpenStdin", json::Value::boolean(o.interactive));
    // The image's labels, then --label (docker's Config.Labels); the stop
    // signal as `stop` sends it: --stop-signal, the image's, SIGTERM.
    auto labels = json::Value::object();
    std::string stop_signal = o.stop_signal;
    if (auto img = e.db().get(c.image_id); img && *img)
        if (auto icfg = json::parse((*img)->config); icfg)
            if (auto* inner = icfg->find("config")) {
                if (auto* l = inner->find("Labels"); l && l->is_object())
                    for (const auto& [k, val] : l->members()) labels.set(k, val);
                if (auto* s = inner->find("StopSignal"); s && s->is_string() && stop_signal.empty())
                    stop_signal = s->as_string();
            }
    for (const auto& [k, val] : o.labels) labels.set(k, json::Value::string(val));
    cfg.set("Labels", std::move(labels));
    cfg.set("StopSignal", json::Value::string(stop_signal.empty() ? "SIGTERM" : stop_signal));
    v.set("Config", std::move(cfg));
    auto host = json::Value::object();
    host.set("AutoRemove", json::Value::boolean(o.remove));
    host.set("Privileged", json::Value::boolean(o.privileged));
    host.set("ReadonlyRootfs", json::Value::boolean(o.read_only));
    host.set("Memory", json::Value::number(o.memory.value_or(0)));
    host.set("PidsLimit", json::Value::number(o.pids_limit.value_or(0)));
    host.set("NanoCpus", json::Value::number(static_cast<int64_t>(o.cpus.value_or(0) * 1e9)));
    host.set("CapAdd", strings(o.cap_add));
    host.set("CapDrop", strings(o.cap_drop));
    host.set("NetworkMode", json::Value::string(o.network));
    host.set("Runtime", json::Value::string(o.runtime.empty() ? "berth-runtime" : o.runtime));
    auto rp = json::Value::object();
    const char* kinds[] = {"no", "on-failure", "always", "unless-stopped"};
    rp.set("Name", json::Value::string(kinds[static_cast<int>(o.restart.kind)]));
    rp.set("MaximumRetryCount", json::Value::number(o.restart.max_retries));
    host.set("RestartPolicy", std::move(rp));
    auto bindings = json::Value::object();
    for (const auto& p : o.publish) {
        auto b = json::Value::object();
        b.set("HostIp", json::Value::string(p.host_ip));
        b.set("HostPort", json::Value::string(p.host_port ? std::to_string(p.host_port) : ""));
        std::string key = cat(p.container_port, "/", p.proto);
        auto list = bindings.find(key) ? *bindings.find(key) : json::Value::array();
        list.push(std::move(b));
        bindings.set(key, std::move(list));
    }
    host.set("PortBindings", std::move(bindings));
    host.set("PublishAllPorts", json::Value::boolean(o.publish_all));
    host.set("Dns", strings(o.dns));
    host.set("DnsSearch", strings(o.dns_search));
    host.set("DnsOptions", strings(o.dns_options));
    std::vector<std::string> extra;
    for (const auto& h : o.add_hosts) extra.push_back(h.substr(0, h.find(' ')) + ":" + h.substr(h.find(' ') + 1));
    host.set("ExtraHosts", strings(extra));
    v.set("HostConfig", std::move(host));
    v.set("NetworkSettings", network_settings(e, c));
    auto mounts = json::Value::array();
    if (auto* ms = spec.find("mounts"); ms && ms->is_array())
        for (const auto& m : ms->items()) {
            auto* dst = m.find("destination");
            if (!dst) continue;
            const std::string& d = dst->as_string();
            if (d == "/proc" || d.starts_with("/dev") || d.starts_with("/sys") || d == "/etc/hostname" ||
                d == "/etc/hosts" || d == "/etc/resolv.conf" || d == "/run/berth-init")
                continue;
            auto mm = json::Value::object();
            const json::Value* src = m.find("source");
            // A volume's mount is a bind of ROOT/volumes/NAME/_data: docker's "volume".
            std::string s = src && src->is_string() ? src->as_string() : "";
            std::string vols = e.paths.root + "/volumes/";
            if (s.starts_with(vols) && s.ends_with("/_data") && s.size() > vols.size() + 6) {
                mm.set("Type", json::Value::string("volume"));
                mm.set("Name", json::Value::string(s.substr(vols.size(), s.size() - vols.size() - 6)));
                mm.set("Driver", json::Value::string("local"));
            } else if (auto* t = m.find("type")) {
                mm.set("Type", *t);
            }
            if (src) mm.set("Source", *src);
            mm.set("Destination", *dst);
            bool ro = false;
            if (auto* op = m.find("options")) {
                mm.set("Options", *op);
                for (const auto& x : op->items()) ro = ro || (x.is_string() && x.as_string() == "ro");
            }
            mm.set("RW", json::Value::boolean(!ro));
            mounts.push(std::move(mm));
        }
    v.set("Mounts", std::move(mounts));
    return v;
}

}  // namespace berth::manager
