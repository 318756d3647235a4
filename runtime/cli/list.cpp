#include <dirent.h>

#include <algorithm>
#include <cstdio>

#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/container/state.hpp"

namespace berth::runtime {

namespace {

// Go's tabwriter as runc configures it (minwidth 12, padding 3): every cell
// but the last of a line is padded to its column's width.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (auto& r : rows)
        for (size_t i = 0; i + 1 < r.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], std::max<size_t>(r[i].size() + 3, 12));
        }
    std::string out;
    for (auto& r : rows) {
        for (size_t i = 0; i < r.size(); ++i) {
            out += r[i];
            if (i + 1 < r.size()) out.append(width[i] - r[i].size(), ' ');
        }
        out += '\n';
    }
    return out;
}

}  // namespace

int cmd_list(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"format", "f", true}, {"quiet", "q", false}});
    if (!a) return fail(a.error());
    std::string format = a->get("format", "table");
    if (format != "table" && format != "json") return fail({0, "invalid format option " + quote(format)});
    std::vector<ContainerState> states;
    if (DIR* d = ::opendir(g.root.c_str())) {
        while (auto* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            auto st = load_state(g.root, e->d_name);
            if (st) states.push_back(std::move(*st));
        }
        ::closedir(d);
    }
    std::sort(states.begin(), states.end(), [](auto& x, auto& y) { return x.id < y.id; });
    std::string out;
    if (a->has("quiet")) {
        for (auto& s : states) out += s.id + "\n";
    } else if (format == "json") {
        if (states.empty()) {
            out = "null\n";
        } else {
            auto arr = json::Value::array();
            for (auto& s : states) {
                arr.push(runc_state(s, container_status(s)));
            }
            out = json::write(arr) + "\n";
        }
    } else {
        std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
        for (auto& s : states) {
            Status status = container_status(s);
            rows.push_back({s.id, std::to_string(status == Status::Stopped ? 0 : s.pid), status_name(status),
                            s.bundle, s.created, state_owner(s)});
        }
        out = table(rows);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace berth::runtime
