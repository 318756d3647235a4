#include "manager/containers/events.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include "libutil/fd.hpp"
#include "libutil/log.hpp"
#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

constexpr off_t kRotateAt = 1 << 20;

std::string& event_runroot() {
    static std::string r;
    return r;
}

void append(const std::string& runroot, const Event& ev) {
    auto v = json::Value::object();
    v.set("type", json::Value::string(ev.type));
    v.set("action", json::Value::string(ev.action));
    v.set("id", json::Value::string(ev.id));
    auto attrs = json::Value::object();
    for (const auto& [k, val] : ev.attributes) attrs.set(k, json::Value::string(val));
    v.set("attributes", std::move(attrs));
    v.set("timeNano", json::Value::number(ev.time_nano ? ev.time_nano : event_now_nano()));
    std::string line = json::write(v) + "\n";
    std::string path = events_log(runroot);
    struct stat st;
    // Two rotating at once: one rename wins, the other's is a no-op on a
    // file just made; at worst a few lines land in .1.
    if (::stat(path.c_str(), &st) == 0 && st.st_size > kRotateAt) ::rename(path.c_str(), (path + ".1").c_str());
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!fd || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        log::warn(cat("record event ", ev.type, " ", ev.action, " in ", path, ": failed"));
}

// Go's duration syntax as docker takes it: a sequence of NUMBER UNIT.
std::optional<int64_t> duration_nano(const std::string& s) {
    if (s.empty()) return std::nullopt;
    double total = 0;
    size_t i = 0;
    while (i < s.size()) {
        char* end = nullptr;
        double n = std::strtod(s.c_str() + i, &end);
        size_t j = static_cast<size_t>(end - s.c_str());
        if (j == i || !std::isfinite(n) || n < 0) return std::nullopt;
        size_t k = j;
        while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
        std::string unit = s.substr(j, k - j);
        double scale = unit == "h" ? 3600e9 : unit == "m" ? 60e9 : unit == "s" ? 1e9 : unit == "ms" ? 1e6
                     : unit == "us" ? 1e3 : unit == "ns" ? 1 : 0;
        if (scale == 0) return std::nullopt;
        total += n * scale;
        i = k;
    }
    return static_cast<int64_t>(total);
}

// RFC 3339 with an optional fraction and zone (none: local time), or a date.
std::optional<int64_t> rfc3339_nano(const std::string& s) {
    struct tm tm {};
    const char* p = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) {
        p = ::strptime(s.c_str(), "%Y-%m-%d", &tm);
        if (!p || *p) return std::nullopt;
        return static_cast<int64_t>(::timegm(&tm)) * 1000000000;
    }
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000000;
        for (++p; std::isdigit(static_cast<unsigned char>(*p)); ++p, scale /= 10)
            frac += (*p - '0') * scale;
    }
    time_t secs;
    if (*p == 'Z' && p[1] == '\0') {
        secs = ::timegm(&tm);
    } else if ((*p == '+' || *p == '-') && std::strlen(p) == 6 && p[3] == ':') {
        int off = (std::atoi(p + 1) * 60 + std::atoi(p + 4)) * 60;
        secs = ::timegm(&tm) - (*p == '+' ? off : -off);
    } else if (*p == '\0') {
        tm.tm_isdst = -1;
        secs = ::mktime(&tm);
    } else {
        return std::nullopt;
    }
    return static_cast<int64_t>(secs) * 1000000000 + frac;
}

}  // namespace

std::string events_log(const std::string& runroot) {
    return runroot + "/events.log";
}

int64_t event_now_nano() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void record_event(const std::string& runroot, Event ev) {
    (void)mkdir_all(runroot, 0711);
    append(runroot, ev);
}

void set_event_runroot(std::string runroot) {
    event_runroot() = std::move(runroot);
}

void record_event(Event ev) {
    const std::string& runroot = event_runroot();
    struct stat st;
    if (runroot.empty() || ::stat(runroot.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return;
    append(runroot, ev);
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

Result<void> add_event_filter(EventFilters& f, const std::string& key, const std::string& value) {
    if (key != "type" && key != "event" && key != "container" && key != "image" && key != "volume" &&
        key != "network")
        return Err("invalid filter '", key, "' (want type, event, container, image, volume or network)");
    f[key].insert(value);
    return {};
}

bool event_passes(const EventFilters& f, const json::Value& m) {
    auto field = [&](const json::Value* o, const char* k) {
        const json::Value* x = o ? o->find(k) : nullptr;
        return x && x->is_string() ? x->as_string() : std::string();
    };
    const json::Value* actor = m.find("Actor");
    const json::Value* attrs = actor ? actor->find("Attributes") : nullptr;
    std::string type = field(&m, "Type"), id = field(actor, "ID"), name = field(attrs, "name");
    for (const auto& [key, want] : f) {
        if (want.empty()) continue;
        bool any = false;
        for (const auto& w : want) {
            if (key == "type") any = any || type == w;
            else if (key == "event") any = any || field(&m, "Action") == w;
            else if (key == "container")
                any = any || (type == "container" && (id.starts_with(w) || name == w)) ||
                      (type == "network" && field(attrs, "container").starts_with(w));
            else if (key == "image") any = any || field(attrs, "image") == w || (type == "image" && (id == w || name == w));
            else if (key == "volume") any = any || (type == "volume" && id == w);
            else if (key == "network") any = any || (type == "network" && (id.starts_with(w) || name == w));
        }
        if (!any) return false;
    }
    return true;
}

Result<int64_t> parse_event_time(const std::string& text, int64_t now_nano) {
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (!text.empty() && end && !*end && std::isfinite(d) && d >= 0) return static_cast<int64_t>(d * 1e9);
    if (auto t = rfc3339_nano(text)) return *t;
    if (auto dur = duration_nano(text)) return now_nano - *dur;
    return Err("invalid time '", text, "' (want unix seconds, RFC 3339 or a duration such as 10m)");
}

void read_events(const std::string& runroot, int64_t from, std::optional<int64_t> until, const EventFilters& filters,
                 bool follow, const std::function<bool(const json::Value&)>& emit,
                 const std::function<bool()>& keep_going) {
    std::string log = events_log(runroot);
    bool stop = false;
    auto one = [&](const std::string& line) {
        auto m = event_message(line);
        if (!m) return;
        const json::Value* tn = m->find("timeNano");
        int64_t t = tn ? tn->as_int64().value_or(0) : 0;
        if (t < from || (until && t > *until) || !event_passes(filters, *m)) return;
        if (!emit(*m)) stop = true;
    };
    std::string line;
    std::ifstream old(log + ".1");
    while (!stop && std::getline(old, line)) one(line);
    // A rotation moves the file being read to .1: once its inode is not
    // the log's any more, the rest of it is read and then the new log.
    auto inode = [&] {
        struct stat st;
        return ::stat(log.c_str(), &st) == 0 ? st.st_ino : 0;
    };
    std::ifstream cur;
    ino_t reading = 0;
    std::string partial;
    for (;;) {
        bool rotated = cur.is_open() && inode() != reading;
        if (!cur.is_open()) {
            cur.open(log);
            reading = cur.is_open() ? inode() : 0;
        }
        while (!stop && cur.is_open() && std::getline(cur, line)) {
            if (cur.eof()) {  // no newline yet: the rest comes later
                partial += line;
                break;
            }
            one(partial + line);
            partial.clear();
        }
        if (cur.is_open()) cur.clear();
        if (rotated && !stop) {
            cur.close();
            partial.clear();
            continue;
        }
        if (stop || !follow || (until && event_now_nano() > *until) || !keep_going()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace berth::manager
