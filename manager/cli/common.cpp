#include <cstdio>
#include <ctime>

#include "libutil/log.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int fail(const Error& e) {
    log::fatal(e.what());
    return kExitError;
}

// "4.41 MB", in decimal units as podman prints sizes.
std::string human_size(int64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g %s", v, units[u]);
    return buf;
}

// "3 days ago" from an RFC 3339 time; "unknown" when the config has none.
std::string human_age(const std::string& created) {
    struct tm tm {};
    if (created.empty() || !::strptime(created.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return "unknown";
    long secs = static_cast<long>(std::time(nullptr) - ::timegm(&tm));
    struct {
        long size;
        const char* unit;
    } steps[] = {{365L * 86400, "year"}, {30L * 86400, "month"}, {7L * 86400, "week"},
                 {86400, "day"},         {3600, "hour"},         {60, "minute"}};
    for (const auto& s : steps)
        if (secs >= s.size) {
            long n = secs / s.size;
            return cat(n, " ", s.unit, n == 1 ? "" : "s", " ago");
        }
    return "less than a minute ago";
}

std::string short_id(const std::string& id) {
    return id.substr(id.find(':') + 1, 12);
}

Result<std::string> find_image(ImageStore& db, const GlobalOptions& g, const std::string& arg) {
    if (auto ref = parse_reference(arg, g.refs)) {
        if (auto id = TRY(db.resolve(ref->str(), false))) return *id;
    }
    if (looks_like_image_id(arg))
        if (auto id = TRY(db.resolve(arg, true))) return *id;
    return Err(arg, ": image not known");
}

Result<ImageRecord> find_image_record(ImageStore& db, const GlobalOptions& g, const std::string& arg) {
    std::string id = TRY(find_image(db, g, arg));
    auto img = TRY(db.get(id));
    if (!img) return Err(arg, ": image not known");  // removed since it was resolved
    return std::move(*img);
}

}  // namespace berth::manager
