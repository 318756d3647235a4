#include "manager/serve/api.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/serve/call.hpp"
#include "manager/serve/route.hpp"

namespace berth::manager::serve {

namespace {

constexpr size_t kMaxJsonBody = 16 << 20;

using Handler = ApiResult (*)(Call&);

struct Route {
    const char* method;
    const char* pattern;  // "{x}" is one segment; "{x*}" one or more (image names have slashes)
    Handler handler;
};

const Route kRoutes[] = {
    {"GET", "/_ping", ping},
    {"HEAD", "/_ping", ping},
    {"GET", "/version", version},
    {"GET", "/info", info},
    {"GET", "/events", events},
    {"GET", "/containers/json", containers_list},
    {"POST", "/containers/create", container_create},
    {"GET", "/containers/{id}/json", container_inspect},
    {"POST", "/containers/{id}/start", container_start},
    {"POST", "/containers/{id}/stop", container_stop},
    {"POST", "/containers/{id}/restart", container_restart},
    {"POST", "/containers/{id}/kill", container_kill},
    {"POST", "/containers/{id}/pause", container_pause},
    {"POST", "/containers/{id}/unpause", container_unpause},
    {"POST", "/containers/{id}/wait", container_wait},
    {"POST", "/containers/{id}/attach", container_attach},
    {"GET", "/containers/{id}/logs", container_logs},
    {"POST", "/containers/{id}/resize", container_resize},
    {"GET", "/containers/{id}/top", container_top},
    {"GET", "/containers/{id}/stats", container_stats},
    {"HEAD", "/containers/{id}/archive", archive_stat},
    {"GET", "/containers/{id}/archive", archive_get},
    {"PUT", "/containers/{id}/archive", archive_put},
    {"DELETE", "/containers/{id}", container_delete},
    {"POST", "/containers/{id}/rename", container_rename},
    {"GET", "/containers/{id}/changes", container_changes},
    {"POST", "/containers/prune", containers_prune},
    {"POST", "/containers/{id}/exec", exec_create},
    {"POST", "/exec/{id}/start", exec_start},
    {"POST", "/exec/{id}/resize", exec_resize},
    {"GET", "/exec/{id}/json", exec_inspect},
    {"GET", "/volumes", volumes_list},
    {"POST", "/volumes/create", volume_create},
    {"POST", "/volumes/prune", volumes_prune},
    {"GET", "/volumes/{name}", volume_inspect},
    {"DELETE", "/volumes/{name}", volume_delete},
    {"GET", "/networks", networks_list},
    {"POST", "/networks/create", network_create},
    {"POST", "/networks/prune", networks_prune},
    {"GET", "/networks/{id}", network_inspect},
    {"DELETE", "/networks/{id}", network_delete},
    {"POST", "/networks/{id}/connect", network_connect},
    {"POST", "/networks/{id}/disconnect", network_disconnect},
    {"GET", "/images/json", images_list},
    {"POST", "/images/create", image_create},
    {"GET", "/images/get", images_get},
    {"POST", "/images/load", images_load},
    {"GET", "/images/{name*}/get", images_get},
    {"GET", "/images/{name*}/json", image_inspect},
    {"GET", "/images/{name*}/history", image_history},
    {"POST", "/images/prune", images_prune},
    {"POST", "/images/{name*}/tag", image_tag},
    {"POST", "/images/{name*}/push", image_push},
    {"DELETE", "/images/{name*}", image_delete},
};

ApiResult dispatch(Call& c) {
    std::string path = TRY(strip_version(c.req.path));
    auto have = segments(path);
    bool path_known = false;
    for (const auto& r : kRoutes) {
        std::vector<std::string> args;
        if (!match(segments(r.pattern), 0, have, 0, args)) continue;
        path_known = true;
        if (c.req.method != r.method) continue;
        c.args = std::move(args);
        return r.handler(c);
    }
    if (path_known) return std::unexpected(http_error(405, cat("method ", c.req.method, " not allowed for ", c.req.path)));
    return std::unexpected(http_error(404, cat("page not found: ", c.req.method, " ", c.req.path)));
}

std::string kernel_release() {
    struct utsname u {};
    return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

std::string os_name() {
    std::ifstream f("/etc/os-release");
    std::string line;
    while (std::getline(f, line))
        if (line.starts_with("PRETTY_NAME=")) {
            std::string v = line.substr(12);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v;
        }
    return "Linux";
}

int64_t mem_total() {
    long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? static_cast<int64_t>(pages) * size : 0;
}

}  // namespace

json::Value str(std::string_view s) {
    return json::Value::string(std::string(s));
}

std::vector<std::string> strings_of(const json::Value* v) {
    std::vector<std::string> out;
    if (v && v->is_array())
        for (const auto& s : v->items())
            if (s.is_string()) out.push_back(s.as_string());
    return out;
}

std::expected<std::map<std::string, std::vector<std::string>>, HttpError> query_filters(
    Call& c, std::initializer_list<std::string_view> known) {
    std::map<std::string, std::vector<std::string>> out;
    std::string text = c.req.param("filters");
    if (text.empty()) return out;
    auto v = json::parse(text);
    if (!v || !v->is_object()) return std::unexpected(http_error(400, cat("invalid filters: ", text)));
    for (const auto& [key, vals] : v->members()) {
        if (std::find(known.begin(), known.end(), key) == known.end())
            return std::unexpected(http_error(400, cat("invalid filter '", key, "'")));
        auto& list = out[key];
        if (vals.is_object())
            for (const auto& [k, on] : vals.members()) list.push_back(k);
        else
            list = strings_of(&vals);
    }
    return out;
}

json::Value string_map(const std::map<std::string, std::string>& m) {
    auto o = json::Value::object();
    for (const auto& [k, v] : m) o.set(k, str(v));
    return o;
}

std::map<std::string, std::string> map_of(const json::Value* v) {
    std::map<std::string, std::string> out;
    if (v && v->is_object())
        for (const auto& [k, val] : v->members()) out[k] = val.is_string() ? val.as_string() : "";
    return out;
}

std::string frame(int stream, std::string_view data) {
    std::string out(8, '\0');
    out[0] = static_cast<char>(stream);
    auto n = static_cast<uint32_t>(data.size());
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
    out.append(data);
    return out;
}

bool labels_match(const std::map<std::string, std::string>& labels, const std::vector<std::string>& want) {
    for (const auto& w : want) {
        size_t eq = w.find('=');
        auto it = labels.find(w.substr(0, eq));
        if (it == labels.end() || (eq != std::string::npos && it->second != w.substr(eq + 1))) return false;
    }
    return true;
}

std::expected<Engine*, HttpError> Call::engine() {
    if (!eng) {
        auto e = Engine::open(g);
        if (!e) return std::unexpected(api_error(e.error()));
        eng = std::move(*e);
    }
    return eng.get();
}

HttpError http_error(int status, std::string message) {
    return HttpError{status, std::move(message)};
}

HttpError api_error(const Error& e) {
    std::string m = e.what();
    auto has = [&](std::string_view s) { return m.find(s) != std::string::npos; };
    int status = 500;
    if (has("no such ") || has("not known") || has("not found"))
        status = 404;
    else if (has("already in use") || has("is running") || has("is paused") || has("is not running") ||
             has("cannot remove") || has("in use by") || has("already exists") || has("is not paused"))
        status = 409;
    else if (has("invalid") || has(": want ") || has("is needed"))
        status = 400;
    if (!m.empty()) m[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(m[0])));
    return HttpError{status, m};
}

std::expected<WindowSize, HttpError> window_size(Call& c) {
    auto h = parse_u64(c.req.param("h")), w = parse_u64(c.req.param("w"));
    if (!h || !w || *h > 65535 || *w > 65535)
        return std::unexpected(http_error(400, cat("bad window size h=", c.req.param("h"), " w=", c.req.param("w"))));
    return WindowSize{static_cast<unsigned short>(*h), static_cast<unsigned short>(*w)};
}

bool send_stream_head(Call& c, std::vector<std::pair<std::string, std::string>> headers) {
    ResponseHead h;
    h.headers = std::move(headers);
    h.headers.emplace_back("Api-Version", kApiVersion);
    h.close = !c.req.keep_alive;
    c.responded = true;
    return bool(c.conn.write_all(format_head(h)));
}

ApiResult send(Call& c, int status, std::string_view content_type, std::string_view body,
               std::vector<std::pair<std::string, std::string>> headers) {
    ResponseHead h;
    h.status = status;
    h.headers = std::move(headers);
    h.headers.emplace_back("Api-Version", kApiVersion);
    h.headers.emplace_back("Server", cat("Berth/", PACKAGE_VERSION, " (linux)"));
    if (!content_type.empty()) h.headers.emplace_back("Content-Type", std::string(content_type));
    h.content_length = body.size();
    h.close = c.close || !c.req.keep_alive;
    std::string out = format_head(h);
    if (c.req.method != "HEAD") out += body;
    c.responded = true;
    if (auto r = c.conn.write_all(out); !r) {
        c.close = true;
        return std::unexpected(http_error(500, r.error().what()));
    }
    return {};
}

ApiResult send_json(Call& c, int status, const json::Value& v) {
    return send(c, status, "application/json", json::write(v) + "\n");
}

ApiResult send_empty(Call& c, int status) {
    ResponseHead h;
    h.status = status;
    h.headers.emplace_back("Api-Version", kApiVersion);
    h.close = c.close || !c.req.keep_alive;
    // 204 and 304 carry no body and no length (RFC 9110).
    if (status != 204 && status != 304) h.content_length = 0;
    else h.raw_stream = true;
    c.responded = true;
    if (auto r = c.conn.write_all(format_head(h)); !r) {
        c.close = true;
        return std::unexpected(http_error(500, r.error().what()));
    }
    return {};
}

ApiResult send_error(Call& c, const HttpError& e) {
    auto v = json::Value::object();
    v.set("message", str(e.message));
    return send_json(c, e.status, v);
}

std::expected<json::Value, HttpError> read_json(Call& c, bool optional) {
    auto body = c.conn.read_body(c.req, kMaxJsonBody);
    if (!body) {
        c.close = true;
        return std::unexpected(body.error());
    }
    if (body->find_first_not_of(" \t\r\n") == std::string::npos) {
        if (optional) return json::Value::null();
        return std::unexpected(http_error(400, "a JSON body is needed"));
    }
    auto v = json::parse(*body);
    if (!v) return std::unexpected(http_error(400, cat("invalid JSON body: ", v.error().what())));
    return std::move(*v);
}

std::expected<ContainerRecord, HttpError> find_container(Call& c, const std::string& name) {
    Engine* e = TRY(c.engine());
    auto rec = e->containers.find(name);
    if (!rec) return std::unexpected(http_error(404, cat("No such container: ", name)));
    return std::move(*rec);
}

ApiResult ping(Call& c) {
    std::vector<std::pair<std::string, std::string>> h = {{"Docker-Experimental", "false"},
                                                          {"Ostype", "linux"},
                                                          {"Cache-Control", "no-cache, no-store, must-revalidate"},
                                                          {"Pragma", "no-cache"}};
    return send(c, 200, "text/plain; charset=utf-8", "OK", std::move(h));
}

ApiResult version(Call& c) {
    auto v = json::Value::object();
    auto platform = json::Value::object();
    platform.set("Name", str("Berth"));
    v.set("Platform", std::move(platform));
    auto engine = json::Value::object();
    engine.set("Name", str("Engine"));
    engine.set("Version", str(PACKAGE_VERSION));
    auto details = json::Value::object();
    details.set("ApiVersion", str(kApiVersion));
    details.set("MinAPIVersion", str(kMinApiVersion));
    details.set("Os", str("linux"));
    details.set("Arch", str("amd64"));
    details.set("KernelVersion", str(kernel_release()));
    engine.set("Details", std::move(details));
    auto components = json::Value::array();
    components.push(std::move(engine));
    v.set("Components", std::move(components));
    v.set("Version", str(PACKAGE_VERSION));
    v.set("ApiVersion", str(kApiVersion));
    v.set("MinAPIVersion", str(kMinApiVersion));
    v.set("GitCommit", str(""));
    v.set("GoVersion", str(""));
    v.set("Os", str("linux"));
    v.set("Arch", str("amd64"));
    v.set("KernelVersion", str(kernel_release()));
    return send_json(c, 200, v);
}

ApiResult info(Call& c) {
    Engine* e = TRY(c.engine());
    auto list = e->containers.list();
    if (!list) return std::unexpected(api_error(list.error()));
    int64_t running = 0, paused = 0, stopped = 0;
    for (const auto& ct : *list) {
        if (ct.state == "running") ++running;
        else if (ct.state == "paused") ++paused;
        else ++stopped;
    }
    auto images = e->db().list();
    if (!images) return std::unexpected(api_error(images.error()));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    bool v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    auto v = json::Value::object();
    v.set("ID", str(""));
    v.set("Containers", json::Value::number(static_cast<int64_t>(list->size())));
    v.set("ContainersRunning", json::Value::number(running));
    v.set("ContainersPaused", json::Value::number(paused));
    v.set("ContainersStopped", json::Value::number(stopped));
    v.set("Images", json::Value::number(static_cast<int64_t>(images->size())));
    v.set("Driver", str("overlay"));
    v.set("DockerRootDir", str(c.g.root));
    v.set("Name", str(host));
    v.set("OperatingSystem", str(os_name()));
    v.set("OSType", str("linux"));
    v.set("Architecture", str("x86_64"));
    v.set("NCPU", json::Value::number(static_cast<int64_t>(std::thread::hardware_concurrency())));
    v.set("MemTotal", json::Value::number(mem_total()));
    v.set("KernelVersion", str(kernel_release()));
    v.set("ServerVersion", str(PACKAGE_VERSION));
    v.set("CgroupDriver", str("cgroupfs"));
    v.set("CgroupVersion", str(v2 ? "2" : "1"));
    v.set("DefaultRuntime", str("berth-runtime"));
    v.set("LoggingDriver", str("k8s-file"));
    auto plugins = json::Value::object();
    auto vol = json::Value::array();
    vol.push(str("local"));
    plugins.set("Volume", std::move(vol));
    auto net = json::Value::array();
    for (const char* n : {"bridge", "host", "none"}) net.push(str(n));
    plugins.set("Network", std::move(net));
    v.set("Plugins", std::move(plugins));
    auto sec = json::Value::array();
    sec.push(str("name=seccomp,profile=builtin"));
    v.set("SecurityOptions", std::move(sec));
    v.set("Warnings", json::Value::array());
    return send_json(c, 200, v);
}

void serve_connection(const GlobalOptions& g, UniqueFd fd) {
    Connection conn(std::move(fd));
    for (;;) {
        auto req = conn.read_request();
        if (!req) {
            // A head we could not read: say why, then close (its body, if
            // any, cannot be told from the next request).
            Request bad;
            bad.keep_alive = false;
            Call c{g, conn, bad, {}, false, true, nullptr};
            (void)send_error(c, req.error());
            return;
        }
        if (!*req) return;
        Call c{g, conn, **req, {}, false, false, nullptr};
        auto r = dispatch(c);
        if (!r && !c.responded) (void)send_error(c, r.error());
        if (!r && c.responded) log::debug(cat("serve: ", c.req.method, " ", c.req.target, ": ", r.error().message));
        if (c.close || !c.req.keep_alive) return;
        if (!conn.body_read(**req) && !conn.discard_body(**req)) return;
    }
}

}  // namespace berth::manager::serve
