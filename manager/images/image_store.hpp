// Image metadata in SQLite (ROOT/berth.db, WAL): images keyed by their config
// digest, the blobs and layers each one uses, and the names pointing at them.
// Blobs and unpacked layers live on disk (blob_store, unpack); this database
// says who uses them, so rmi knows what is no longer needed.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libutil/error.hpp"

namespace berth::manager {

struct ImageRecord {
    std::string id;                   // "sha256:<config digest hex>"
    std::string manifest_digest;      // "sha256:..."
    std::string created;              // RFC 3339 from the config, may be empty
    int64_t size = 0;                 // bytes of the layers, uncompressed
    std::string config;               // the config JSON as stored
    std::vector<std::string> layers;  // chain ids, bottom first
    std::vector<std::string> blobs;   // every blob digest the image needs
    std::vector<std::string> names;   // "domain/path:tag", sorted (filled by get/list)
};

class ImageStore {
public:
    // Opens (creating) ROOT/berth.db and brings its schema up to date.
    static Result<ImageStore> open(const std::string& root);
    ImageStore(ImageStore&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
    ImageStore& operator=(ImageStore&&) = delete;
    ~ImageStore();

    // Adds an image (kept as it is when it is already there) and points
    // `names` at it, moving a name from the image it named before. One transaction.
    Result<void> add(const ImageRecord& img, const std::vector<std::string>& names);
    Result<std::vector<ImageRecord>> list();
    Result<std::optional<ImageRecord>> get(const std::string& id);
    // The image a name, a full id or a unique id prefix (>= 3 hex) refers to.
    Result<std::optional<std::string>> resolve(const std::string& name_or_id, bool by_id);
    // Points `name` at image `id`, moving it from the image it named before.
    Result<void> tag(const std::string& id, const std::string& name);
    // Removes one name; returns false when there was no such name.
    Result<bool> untag(const std::string& name);
    // Removes the image (its names too).
    Result<void> remove(const std::string& id);
    // What the remaining images use.
    Result<std::set<std::string>> used_blobs();
    Result<std::set<std::string>> used_layers();

    // Runs `body` in one write transaction (BEGIN IMMEDIATE), rolled back on an error.
    Result<void> transaction(const std::function<Result<void>()>& body);
    // For the stores that keep their tables in the same database (rootfs).
    sqlite3* handle() const { return db_; }
    Error db_error(std::string_view what) const;

    // 1: images, layers, blobs, names; 2: rootfs and image mounts; 3: containers, volumes.
    static constexpr int kSchemaVersion = 4;

private:
    ImageStore() = default;
    Result<void> exec(const char* sql);
    sqlite3* db_ = nullptr;
    std::string path_;
};

}  // namespace berth::manager
