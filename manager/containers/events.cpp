#include "manager/containers/events.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "libutil/fd.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

constexpr off_t kRotateAt = 1 << 20;

int64_t now_nano() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

std::string events_log(const std::string& runroot) {
    return runroot + "/events.log";
}

void record_event(const std::string& runroot, Event ev) {
    auto v = json::Value::object();
    v.set("type", json::Value::string(ev.type));
    v.set("action", json::Value::string(ev.action));
    v.set("id", json::Value::string(ev.id));
    auto attrs = json::Value::object();
    for (const auto& [k, val] : ev.attributes) attrs.set(k, json::Value::string(val));
    v.set("attributes", std::move(attrs));
    v.set("timeNano", json::Value::number(ev.time_nano ? ev.time_nano : now_nano()));
    std::string line = json::write(v) + "\n";
    std::string path = events_log(runroot);
    (void)mkdir_all(runroot, 0711);
    struct stat st;
    // Two rotating at once: one rename wins, the other's is a no-op on a
    // file just made; at worst a few lines land in .1.
    if (::stat(path.c_str(), &st) == 0 && st.st_size > kRotateAt) ::rename(path.c_str(), (path + ".1").c_str());
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!fd || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        log::warn(cat("record event ", ev.type, " ", ev.action, " in ", path, ": failed"));
}

std::optional<json::Value> event_message(const std::string& line) {
    auto v = json::parse(line);
    if (!v || !v->is_object()) return std::nullopt;
    auto get = [&](const char* k) {
        const json::Value* x = v->find(k);
        return x && x->is_string() ? x->as_string() : std::string();
    };
    const json::Value* tn = v->find("timeNano");
    int64_t nano = tn ? tn->as_int64().value_or(0) : 0;
    auto m = json::Value::object();
    std::string type = get("type"), action = get("action"), id = get("id");
    const json::Value* attrs = v->find("attributes");
    if (type == "container") {
        m.set("status", json::Value::string(action));
        m.set("id", json::Value::string(id));
        if (attrs)
            if (const json::Value* img = attrs->find("image")) m.set("from", *img);
    }
    m.set("Type", json::Value::string(type));
    m.set("Action", json::Value::string(action));
    auto actor = json::Value::object();
    actor.set("ID", json::Value::string(id));
    actor.set("Attributes", attrs ? *attrs : json::Value::object());
    m.set("Actor", std::move(actor));
    m.set("scope", json::Value::string("local"));
    m.set("time", json::Value::number(nano / 1000000000));
    m.set("timeNano", json::Value::number(nano));
    return m;
}

}  // namespace berth::manager
