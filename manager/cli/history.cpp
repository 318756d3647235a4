// `berth history [--no-trunc] [--format json] [-q] IMAGE`, as podman prints it.
#include "manager/images/history.hpp"

#include <cstdio>

#include "libutil/json.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/images/store_lock.hpp"

namespace berth::manager {

namespace {

std::string truncated(const std::string& s, size_t n) {
    return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

void print_json(const std::vector<HistoryRow>& rows) {
    json::Value out = json::Value::array();
    for (const auto& r : rows) {
        json::Value o = json::Value::object();
        o.set("id", json::Value::string(r.id));
        o.set("created", json::Value::string(r.created));
        o.set("CreatedBy", json::Value::string(r.created_by));
        o.set("size", json::Value::number(r.size));
        if (!r.comment.empty()) o.set("comment", json::Value::string(r.comment));  // podman omits it too
        json::Value tags = json::Value::array();
        for (const auto& t : r.tags)
            tags.push(json::Value::string(t));
        o.set("tags", r.tags.empty() ? json::Value::null() : std::move(tags));
        out.push(std::move(o));
    }
    std::printf("%s\n", json::write(out, true).c_str());
}

}  // namespace

int cmd_history(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"no-trunc", 0, false}, {"format", 0, true}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (a->positional.size() != 1) return fail(Error{0, "history: exactly one image name or id is required"});
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json")
        return fail(Error{0, cat("history: unsupported --format \"", format, "\" (table or json)")});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    auto img = find_image_record(*db, g, a->positional[0]);
    if (!img) return fail(img.error());
    std::vector<uint64_t> sizes;
    {
        auto lock = StoreLock::shared(g.root);  // the blobs read must stay
        if (!lock) return fail(lock.error());
        auto s = layer_sizes(g.root, *img);
        if (!s) return fail(s.error());
        sizes = std::move(*s);
    }
    auto rows = image_history(*img, sizes);
    if (!rows) return fail(rows.error());
    bool full = a->has("no-trunc");
    if (format == "json") {
        print_json(*rows);
        return 0;
    }
    for (auto& r : *rows)
        if (!full && r.id != "<missing>") r.id = r.id.substr(0, 12);
    if (a->has("quiet")) {
        for (const auto& r : *rows)
            std::printf("%s\n", r.id.c_str());
        return 0;
    }
    std::printf("%-14s %-22s %-45s %-10s %s\n", "ID", "CREATED", "CREATED BY", "SIZE", "COMMENT");
    for (const auto& r : *rows)
        std::printf("%-14s %-22s %-45s %-10s %s\n", r.id.c_str(), human_age(r.created).c_str(),
                    (full ? r.created_by : truncated(r.created_by, 45)).c_str(),
                    human_size(static_cast<int64_t>(r.size)).c_str(), r.comment.c_str());
    return 0;
}

}  // namespace berth::manager
