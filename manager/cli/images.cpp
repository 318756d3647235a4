#include <cstdio>

#include "libutil/json.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

namespace {

// "localhost/busybox:latest" -> {"localhost/busybox", "latest"}.
std::pair<std::string, std::string> split_name(const std::string& n) {
    auto colon = n.rfind(':');
    if (colon == std::string::npos || n.find('/', colon) != std::string::npos) return {n, "<none>"};
    return {n.substr(0, colon), n.substr(colon + 1)};
}

}  // namespace

int cmd_images(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"format", 0, true}, {"quiet", 'q', false}});
    if (!a) return fail(a.error());
    if (!a->positional.empty()) return fail(Error{0, cat("images: unexpected argument: ", a->positional[0])});
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json")
        return fail(Error{0, cat("images: unsupported --format \"", format, "\" (table or json)")});
    auto db = ImageStore::open(g.root);
    if (!db) return fail(db.error());
    auto images = db->list();
    if (!images) return fail(images.error());

    if (a->has("quiet")) {
        for (const auto& img : *images)
            std::printf("%s\n", short_id(img.id).c_str());
        return 0;
    }
    if (format == "json") {
        json::Value out = json::Value::array();
        for (const auto& img : *images) {
            json::Value o = json::Value::object();
            o.set("Id", json::Value::string(img.id.substr(7)));
            o.set("Digest", json::Value::string(img.manifest_digest));
            json::Value names = json::Value::array();
            for (const auto& n : img.names)
                names.push(json::Value::string(n));
            o.set("Names", std::move(names));
            o.set("Created", json::Value::string(img.created));
            o.set("Size", json::Value::number(img.size));
            out.push(std::move(o));
        }
        std::printf("%s\n", json::write(out, true).c_str());
        return 0;
    }
    std::printf("%-40s %-12s %-14s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
    for (const auto& img : *images) {
        std::vector<std::string> names = img.names;
        if (names.empty()) names.push_back("<none>");
        for (const auto& n : names) {
            auto [repo, tag] = n == "<none>" ? std::pair<std::string, std::string>{"<none>", "<none>"} : split_name(n);
            std::printf("%-40s %-12s %-14s %-22s %s\n", repo.c_str(), tag.c_str(), short_id(img.id).c_str(),
                        human_age(img.created).c_str(), human_size(img.size).c_str());
        }
    }
    return 0;
}

}  // namespace berth::manager
