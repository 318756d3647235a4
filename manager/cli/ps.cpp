// `ps` and `inspect` for containers: what the records say, brought up to
// date with the shims' exit files first.
#include <cstdio>
#include <ctime>

#include "libutil/json.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/cli/format.hpp"
#include "manager/containers/inspect.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/containers/run_options.hpp"

namespace berth::manager {

int cmd_ps(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"all", 'a', false}, {"quiet", 'q', false}, {"format", 0, true}, {"no-trunc", 0, false},
                         {"latest", 'l', false}});
    if (!a) return fail(a.error());
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    if (auto r = repair_containers(**e); !r) log::warn(r.error().what());
    auto list = (*e)->containers.list();
    if (!list) return fail(list.error());
    std::vector<ContainerRecord> shown;
    for (auto& c : *list) {
        if (auto lock = ContainerLock::try_take((*e)->paths, c.id); lock && *lock) (void)refresh(**e, c);
        if (!a->has("all") && !a->has("latest") && c.state != "running" && c.state != "paused") continue;
        shown.push_back(c);
    }
    if (a->has("latest") && !shown.empty()) shown.erase(shown.begin(), shown.end() - 1);
    bool full = a->has("no-trunc");
    std::string format = a->get("format");
    if (a->has("quiet")) {
        for (const auto& c : shown) std::printf("%s\n", full ? c.id.c_str() : c.id.substr(0, 12).c_str());
        return 0;
    }
    if (format == "json") {
        auto arr = json::Value::array();
        for (const auto& c : shown) {
            auto spec = bundle_spec(**e, c);
            auto v = json::Value::object();
            v.set("Id", json::Value::string(c.id));
            auto names = json::Value::array();
            names.push(json::Value::string(c.name));
            v.set("Names", std::move(names));
            v.set("Image", json::Value::string(c.image_name));
            v.set("ImageID", json::Value::string(c.image_id));
            v.set("Command", json::Value::string(command_of(spec)));
            v.set("Created", json::Value::string(c.created));
            v.set("State", json::Value::string(c.state));
            v.set("Status", json::Value::string(status_text(c)));
            v.set("ExitCode", json::Value::number(c.exit_code));
            v.set("Pid", json::Value::number(c.pid));
            v.set("Restarts", json::Value::number(c.restart_count));
            arr.push(std::move(v));
        }
        std::printf("%s\n", json::write(arr, true).c_str());
        return 0;
    }
    if (!format.empty()) {
        for (const auto& c : shown) {
            auto v = json::Value::object();
            v.set("ID", json::Value::string(full ? c.id : c.id.substr(0, 12)));
            v.set("Names", json::Value::string(c.name));
            v.set("Image", json::Value::string(c.image_name));
            v.set("Command", json::Value::string(command_of(bundle_spec(**e, c))));
            v.set("State", json::Value::string(c.state));
            v.set("Status", json::Value::string(status_text(c)));
            v.set("Restarts", json::Value::number(c.restart_count));
            v.set("CreatedAt", json::Value::string(c.created));
            v.set("Ports", json::Value::string(ports_text(**e, c)));
            auto out = render_template(format, v);
            if (!out) return fail(out.error());
            std::printf("%s\n", out->c_str());
        }
        return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "RESTARTS", "NAMES"}};
    for (const auto& c : shown) {
        std::string cmd = "\"" + command_of(bundle_spec(**e, c)) + "\"";
        if (!full && cmd.size() > 22) cmd = cmd.substr(0, 19) + "…\"";
        rows.push_back({c.id.substr(0, 12), c.image_name, cmd, human_age(c.created), status_text(c), ports_text(**e, c),
                        std::to_string(c.restart_count), c.name});
    }
    std::fputs(format_table(rows).c_str(), stdout);
    return 0;
}

int cmd_container_inspect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"format", 'f', true}});
    if (!a) return fail(a.error());
    if (a->positional.empty()) return fail(Error{0, "inspect: at least one container is needed"});
    auto e = Engine::open(g);
    if (!e) return fail(e.error());
    auto arr = json::Value::array();
    int rc = 0;
    for (const auto& n : a->positional) {
        auto c = (*e)->containers.find(n);
        if (!c) {
            rc = fail(c.error());
            continue;
        }
        if (auto lock = ContainerLock::try_take((*e)->paths, c->id); lock && *lock) (void)refresh(**e, *c);
        auto v = inspect_json(**e, *c);
        if (a->values.count("format")) {
            auto out = render_template(a->get("format"), v);
            if (!out) return fail(out.error());
            std::printf("%s\n", out->c_str());
        } else {
            arr.push(std::move(v));
        }
    }
    if (!a->values.count("format")) std::printf("%s\n", json::write(arr, true).c_str());
    return rc;
}

}  // namespace berth::manager

namespace berth::manager {

// `inspect` without a group: containers first, then images (docker's order).
int cmd_inspect(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"format", 'f', true}, {"type", 0, true}});
    if (!a) return fail(a.error());
    std::string type = a->get("type");
    if (!type.empty() && type != "container" && type != "image")
        return fail(Error{0, cat("invalid value \"", type, "\" for --type: want container or image")});
    bool container = type == "container";
    if (type.empty() && !a->positional.empty()) {
        auto e = Engine::open(g);
        if (!e) return fail(e.error());
        container = bool((*e)->containers.find(a->positional[0]));
    }
    // argv[start - 1] is "inspect": `image inspect` reads its arguments the same way.
    return container ? cmd_container_inspect(g, argc, argv, start) : cmd_image(g, argc, argv, start - 1);
}

}  // namespace berth::manager
