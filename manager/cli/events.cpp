// `berth events [--since T] [--until T] [-f KEY=VALUE]... [--format F] [--stream=false]`:
// the event log (manager/containers/events.hpp) from --since (default: now),
// then followed until --until or an interrupt, as podman's and docker's.
#include <cstdio>
#include <ctime>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/cli/format.hpp"
#include "manager/containers/events.hpp"

namespace berth::manager {

namespace {

// docker's line: 2026-11-29T15:47:11.123456789Z container start ID (image=busybox, name=web)
std::string event_line(const json::Value& m) {
    auto str = [](const json::Value* v, const char* k) {
        const json::Value* x = v ? v->find(k) : nullptr;
        return x && x->is_string() ? x->as_string() : std::string();
    };
    int64_t nano = m.find("timeNano") ? m.find("timeNano")->as_int64().value_or(0) : 0;
    time_t secs = static_cast<time_t>(nano / 1000000000);
    struct tm tm;
    ::gmtime_r(&secs, &tm);
    char when[64];
    size_t n = std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(when + n, sizeof when - n, ".%09lldZ", static_cast<long long>(nano % 1000000000));
    const json::Value* actor = m.find("Actor");
    std::string line = cat(when, " ", str(&m, "Type"), " ", str(&m, "Action"), " ", str(actor, "ID"));
    std::vector<std::string> attrs;
    if (const json::Value* a = actor ? actor->find("Attributes") : nullptr)
        for (const auto& [k, v] : a->members())
            if (v.is_string()) attrs.push_back(k + "=" + v.as_string());
    if (!attrs.empty()) line += " (" + join(attrs, ", ") + ")";
    return line;
}

}  // namespace

int cmd_events(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"since", 0, true}, {"until", 0, true}, {"filter", 'f', true}, {"format", 0, true},
                         {"stream", 0, false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("events: unexpected argument: ", a->positional[0])});
    int64_t now = event_now_nano();
    int64_t from = now;
    std::optional<int64_t> until;
    if (std::string s = a->get("since"); !s.empty()) {
        auto t = parse_event_time(s, now);
        if (!t) return fail(Error{0, cat("events: --since: ", t.error().what())});
        from = *t;
    }
    if (std::string s = a->get("until"); !s.empty()) {
        auto t = parse_event_time(s, now);
        if (!t) return fail(Error{0, cat("events: --until: ", t.error().what())});
        until = *t;
    }
    EventFilters filters;
    for (const auto& f : a->get_all("filter")) {
        size_t eq = f.find('=');
        if (eq == std::string::npos) return fail(Error{0, cat("events: --filter ", f, ": want KEY=VALUE")});
        if (auto r = add_event_filter(filters, f.substr(0, eq), f.substr(eq + 1)); !r)
            return fail(Error{0, cat("events: --filter ", f, ": ", r.error().what())});
    }
    std::string format = a->get("format");
    bool follow = a->get("stream") != "false";
    int rc = 0;
    read_events(
        g.runroot, from, until, filters, follow,
        [&](const json::Value& m) {
            std::string out;
            if (format.empty()) {
                out = event_line(m);
            } else if (format == "json") {
                out = json::write(m);
            } else {
                auto r = render_template(format, m);
                if (!r) {
                    rc = fail(Error{0, cat("events: ", r.error().what())});
                    return false;
                }
                out = *r;
            }
            out += "\n";
            return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0;
        },
        [] { return true; });
    return rc;
}

}  // namespace berth::manager
