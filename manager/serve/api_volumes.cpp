// /volumes: list, create, inspect, remove, prune, on the same store as
// `berth volume`.
#include "libutil/strings.hpp"
#include "manager/serve/call.hpp"
#include "manager/volumes/volume_store.hpp"

namespace berth::manager::serve {

namespace {

json::Value volume_json(VolumeStore& s, const VolumeRecord& v) {
    auto o = json::Value::object();
    o.set("CreatedAt", str(v.created));
    o.set("Driver", str(v.driver));
    o.set("Labels", string_map(v.labels));
    o.set("Mountpoint", str(s.data_dir(v.name)));
    o.set("Name", str(v.name));
    o.set("Options", string_map(v.options));
    o.set("Scope", str("local"));
    return o;
}

}  // namespace

ApiResult volumes_list(Call& c) {
    Engine* e = TRY(c.engine());
    VolumeStore s(e->db(), c.g.root);
    auto list = s.list();
    if (!list) return std::unexpected(api_error(list.error()));
    auto filters = TRY(query_filters(c, {"name", "driver", "dangling", "label"}));
    auto vols = json::Value::array();
    for (const auto& v : *list) {
        bool keep = true;
        for (const auto& [key, want] : filters) {
            bool any = want.empty() || (key == "label" && labels_match(v.labels, want));
            for (const auto& w : want) {
                if (key == "name") any = any || v.name.find(w) != std::string::npos;
                else if (key == "driver") any = any || v.driver == w;
                else if (key == "label") continue;
                else {
                    auto users = s.users(v.name);
                    any = any || (users && users->empty()) == (w == "true" || w == "1");
                }
            }
            keep = keep && any;
        }
        if (keep) vols.push(volume_json(s, v));
    }
    auto out = json::Value::object();
    out.set("Volumes", std::move(vols));
    out.set("Warnings", json::Value::array());
    return send_json(c, 200, out);
}

ApiResult volume_create(Call& c) {
    auto body = TRY(read_json(c, true));
    Engine* e = TRY(c.engine());
    VolumeRecord v;
    if (body.is_object()) {
        if (auto* n = body.find("Name"); n && n->is_string()) v.name = n->as_string();
        if (auto* d = body.find("Driver"); d && d->is_string() && !d->as_string().empty()) v.driver = d->as_string();
        v.options = map_of(body.find("DriverOpts"));
        v.labels = map_of(body.find("Labels"));
    }
    VolumeStore s(e->db(), c.g.root);
    if (v.name.empty()) {
        auto id = random_hex_id();
        if (!id) return std::unexpected(api_error(id.error()));
        v.name = *id;
    } else if (auto old = s.get(v.name); old && *old) {
        // docker's create of an existing volume returns it.
        return send_json(c, 201, volume_json(s, **old));
    }
    if (auto r = validate_volume_name(v.name); !r) return std::unexpected(http_error(400, r.error().what()));
    if (auto r = validate_volume_options(v.driver, v.options); !r) return std::unexpected(http_error(400, r.error().what()));
    if (auto r = s.create(v); !r) return std::unexpected(api_error(r.error()));
    auto made = s.get(v.name);
    if (!made || !*made) return std::unexpected(http_error(500, cat("volume ", v.name, " is gone")));
    return send_json(c, 201, volume_json(s, **made));
}

ApiResult volume_inspect(Call& c) {
    Engine* e = TRY(c.engine());
    VolumeStore s(e->db(), c.g.root);
    auto v = s.get(c.args.at(0));
    if (!v) return std::unexpected(api_error(v.error()));
    if (!*v) return std::unexpected(http_error(404, cat("get ", c.args.at(0), ": no such volume")));
    return send_json(c, 200, volume_json(s, **v));
}

ApiResult volume_delete(Call& c) {
    Engine* e = TRY(c.engine());
    VolumeStore s(e->db(), c.g.root);
    const std::string& name = c.args.at(0);
    auto v = s.get(name);
    if (!v) return std::unexpected(api_error(v.error()));
    if (!*v && !c.req.flag("force")) return std::unexpected(http_error(404, cat("get ", name, ": no such volume")));
    if (auto r = s.remove(name, c.req.flag("force")); !r) {
        auto err = api_error(r.error());
        if (err.status == 500) err.status = 409;
        return std::unexpected(err);
    }
    return send_empty(c, 204);
}

ApiResult volumes_prune(Call& c) {
    Engine* e = TRY(c.engine());
    // API 1.41 (docker 20.10): every unused volume goes, named ones too,
    // unless the filter says all=false.
    bool all = true;
    if (std::string f = c.req.param("filters"); !f.empty()) {
        auto v = json::parse(f);
        if (!v || !v->is_object()) return std::unexpected(http_error(400, "invalid filters"));
        if (auto* a = v->find("all")) {
            std::vector<std::string> vals;
            if (a->is_object())
                for (const auto& [k, on] : a->members()) vals.push_back(k);
            if (a->is_array())
                for (const auto& x : a->items()) vals.push_back(x.is_string() ? x.as_string() : "");
            for (const auto& x : vals) all = x == "true" || x == "1";
        }
    }
    auto removed = VolumeStore(e->db(), c.g.root).prune(all);
    if (!removed) return std::unexpected(api_error(removed.error()));
    auto names = json::Value::array();
    for (const auto& n : *removed) names.push(str(n));
    auto out = json::Value::object();
    out.set("VolumesDeleted", std::move(names));
    out.set("SpaceReclaimed", json::Value::number(0));
    return send_json(c, 200, out);
}

}  // namespace berth::manager::serve
