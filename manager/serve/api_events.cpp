// GET /events: the event log (manager/containers/events.hpp) from `since`,
// then followed until `until` or the client goes, filtered as docker does,
// one JSON message a line.
#include <poll.h>

#include "libutil/strings.hpp"
#include "manager/containers/events.hpp"
#include "manager/serve/call.hpp"

namespace berth::manager::serve {

ApiResult events(Call& c) {
    int64_t now = event_now_nano();
    auto time_param = [&](const char* key) -> std::expected<std::optional<int64_t>, HttpError> {
        std::string v = c.req.param(key);
        if (v.empty()) return std::nullopt;
        auto t = parse_event_time(v, now);
        if (!t) return std::unexpected(http_error(400, cat(key, ": ", t.error().what())));
        return *t;
    };
    auto since = TRY(time_param("since"));
    auto until = TRY(time_param("until"));
    EventFilters filters;
    if (std::string f = c.req.param("filters"); !f.empty()) {
        auto v = json::parse(f);
        if (!v || !v->is_object()) return std::unexpected(http_error(400, "invalid filters"));
        for (const auto& [k, vals] : v->members()) {
            std::vector<std::string> values;
            if (vals.is_object())
                for (const auto& [x, on] : vals.members()) values.push_back(x);
            else if (vals.is_array())
                for (const auto& x : vals.items())
                    if (x.is_string()) values.push_back(x.as_string());
            for (const auto& x : values)
                if (auto r = add_event_filter(filters, k, x); !r) return std::unexpected(http_error(400, r.error().what()));
        }
    }
    if (!send_stream_head(c, {{"Content-Type", "application/json"}})) return {};
    ChunkedWriter w(c.conn);
    bool broken = false;
    // Without since, only what happens from now on (docker's).
    read_events(
        c.g.runroot, since.value_or(now), until, filters, true,
        [&](const json::Value& m) { return !(broken = !w.write(json::write(m) + "\n")); },
        [&] {
            struct pollfd p {c.conn.fd(), POLLRDHUP, 0};
            return !(::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
        });
    if (broken || !w.finish()) c.close = true;
    return {};
}

}  // namespace berth::manager::serve
