#include "manager/images/history.hpp"

#include <algorithm>

#include "libutil/json.hpp"
#include "manager/images/blob_store.hpp"
#include "manager/images/layer_stream.hpp"
#include "manager/images/reference.hpp"

namespace berth::manager {

namespace {
std::string str_field(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_string() ? f->as_string() : "";
}
}  // namespace

Result<std::vector<HistoryRow>> image_history(const ImageRecord& img, const std::vector<uint64_t>& layer_sizes) {
    auto cfg = TRY_CTX(json::parse(img.config), "config ", img.id);
    std::vector<HistoryRow> rows;
    size_t layer = 0;
    if (const json::Value* h = cfg.find("history"); h && h->is_array())
        for (const auto& e : h->items()) {
            HistoryRow r;
            r.created = str_field(e, "created");
            r.created_by = str_field(e, "created_by");
            r.comment = str_field(e, "comment");
            const json::Value* empty = e.find("empty_layer");
            // A config may list more layer entries than the image has layers: they count 0.
            if (!(empty && empty->is_bool() && empty->as_bool()) && layer < layer_sizes.size())
                r.size = layer_sizes[layer++];
            rows.push_back(std::move(r));
        }
    for (; layer < layer_sizes.size(); ++layer) {
        HistoryRow r;
        r.created = img.created;
        r.size = layer_sizes[layer];
        rows.push_back(std::move(r));
    }
    if (rows.empty()) {
        rows.emplace_back();
        rows.back().created = img.created;
    }
    std::reverse(rows.begin(), rows.end());
    for (auto& r : rows)
        r.id = "<missing>";
    rows[0].id = img.id.substr(7);
    rows[0].tags = img.names;
    return rows;
}

Result<std::vector<uint64_t>> layer_sizes(const std::string& root, const ImageRecord& img) {
    BlobStore store(root);
    auto m = TRY_CTX(json::parse(TRY(store.read(img.manifest_digest))), "manifest ", img.manifest_digest);
    std::vector<uint64_t> out;
    if (const json::Value* ls = m.find("layers"); ls && ls->is_array())
        for (const auto& l : ls->items()) {
            const json::Value* d = l.find("digest");
            std::string digest = d && d->is_string() ? d->as_string() : "";
            if (!valid_digest(digest)) return Err("manifest ", img.manifest_digest, ": invalid layer digest");
            out.push_back(TRY_CTX(layer_tar_size(store.path(digest)), "layer ", digest));
        }
    return out;
}

}  // namespace berth::manager
