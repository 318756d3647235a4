// GET /events: the event log (manager/containers/events.hpp) from `since`,
// then followed until `until` or the client goes, filtered as docker does
// (type, event, container, image), one JSON message a line.
#include <poll.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <thread>

#include "libutil/strings.hpp"
#include "manager/containers/events.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

namespace {

// docker's since/until: unix seconds, maybe with a fraction; "" is none.
std::expected<std::optional<int64_t>, HttpError> unix_nano(const std::string& v, const char* key) {
    if (v.empty()) return std::nullopt;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (!end || *end || !std::isfinite(d) || d < 0)
        return std::unexpected(http_error(400, cat("invalid value for ", key, ": ", v, " (want unix seconds)")));
    return static_cast<int64_t>(d * 1e9);
}

using Filters = std::map<std::string, std::set<std::string>>;

bool passes(const Filters& f, const json::Value& m) {
    auto field = [&](const char* k) {
        const json::Value* x = m.find(k);
        return x && x->is_string() ? x->as_string() : std::string();
    };
    const json::Value* actor = m.find("Actor");
    const json::Value* attrs = actor ? actor->find("Attributes") : nullptr;
    auto attr = [&](const char* k) {
        const json::Value* x = attrs ? attrs->find(k) : nullptr;
        return x && x->is_string() ? x->as_string() : std::string();
    };
    std::string id = actor && actor->find("ID") ? actor->find("ID")->as_string() : "";
    for (const auto& [key, want] : f) {
        if (want.empty()) continue;
        bool any = false;
        for (const auto& w : want) {
            if (key == "type") any = any || field("Type") == w;
            else if (key == "event") any = any || field("Action") == w;
            else if (key == "container")
                any = any || (field("Type") == "container" && (id.starts_with(w) || attr("name") == w));
            else if (key == "image") any = any || attr("image") == w || (field("Type") == "image" && id == w);
        }
        if (!any) return false;
    }
    return true;
}

}  // namespace

ApiResult events(Call& c) {
    auto since = TRY(unix_nano(c.req.param("since"), "since"));
    auto until = TRY(unix_nano(c.req.param("until"), "until"));
    Filters filters;
    if (std::string f = c.req.param("filters"); !f.empty()) {
        auto v = json::parse(f);
        if (!v || !v->is_object()) return std::unexpected(http_error(400, "invalid filters"));
        for (const auto& [k, vals] : v->members()) {
            if (k != "type" && k != "event" && k != "container" && k != "image")
                return std::unexpected(http_error(400, cat("invalid filter '", k, "'")));
            auto& set = filters[k];
            if (vals.is_object())
                for (const auto& [x, on] : vals.members()) set.insert(x);
            else if (vals.is_array())
                for (const auto& x : vals.items())
                    if (x.is_string()) set.insert(x.as_string());
        }
    }
    std::string log = events_log(c.g.runroot);
    ResponseHead h;
    h.headers = {{"Content-Type", "application/json"}, {"Api-Version", kApiVersion}};
    h.close = !c.req.keep_alive;
    c.responded = true;
    if (!c.conn.write_all(format_head(h))) return {};
    ChunkedWriter w(c.conn);
    auto now_nano = [] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    // Without since, only what happens from now on (docker's).
    int64_t from = since.value_or(now_nano());
    bool broken = false;
    auto emit = [&](const std::string& line) {
        auto m = event_message(line);
        if (!m) return;
        const json::Value* tn = m->find("timeNano");
        int64_t t = tn ? tn->as_int64().value_or(0) : 0;
        if (t < from || (until && t > *until) || !passes(filters, *m)) return;
        if (!w.write(json::write(*m) + "\n")) broken = true;
    };
    std::ifstream old(log + ".1");
    std::string line;
    while (!broken && std::getline(old, line)) emit(line);
    std::ifstream cur(log);
    std::string partial;
    for (;;) {
        if (!cur.is_open()) cur.open(log);
        while (!broken && cur.is_open() && std::getline(cur, line)) {
            if (cur.eof()) {  // no newline yet: the rest comes later
                partial += line;
                break;
            }
            emit(partial + line);
            partial.clear();
        }
        if (cur.is_open()) cur.clear();
        if (broken || (until && now_nano() > *until)) break;
        struct pollfd p {c.conn.fd(), POLLRDHUP, 0};
        if (::poll(&p, 1, 100) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) break;
    }
    if (broken || !w.finish()) c.close = true;
    return {};
}

}  // namespace berth::manager::serve
