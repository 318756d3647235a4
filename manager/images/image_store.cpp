#include "manager/images/image_store.hpp"

#include <algorithm>
#include <memory>

#include "libutil/strings.hpp"

namespace berth::manager {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    created TEXT NOT NULL,
    size INTEGER NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, position)
);
CREATE TABLE IF NOT EXISTS image_blobs (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (image_id, digest)
);
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
)";

// Several berth commands may run at once; a writer waits this long for another.
constexpr int kBusyTimeoutMs = 10000;

struct StmtFree {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFree>;

std::string column_text(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

Error ImageStore::db_error(std::string_view what) const {
    return Error{0, cat(path_, ": ", what, ": ", sqlite3_errmsg(db_))};
}

Result<void> ImageStore::exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg ? msg : "unknown error";
        sqlite3_free(msg);
        return Err(path_, ": ", m);
    }
    return {};
}

ImageStore::~ImageStore() {
    if (db_) sqlite3_close_v2(db_);
}

Result<ImageStore> ImageStore::open(const std::string& root) {
    TRY(mkdir_all(root, 0700));
    ImageStore s;
    s.path_ = path_join(root, "berth.db");
    if (sqlite3_open_v2(s.path_.c_str(), &s.db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
        return std::unexpected(s.db_error("open"));
    sqlite3_busy_timeout(s.db_, kBusyTimeoutMs);
    TRY(s.exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
    TRY(s.exec("BEGIN IMMEDIATE"));
    auto schema = [&]() -> Result<void> {
        TRY(s.exec(kSchema));
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(s.db_, "SELECT version FROM schema_version", -1, &raw, nullptr) != SQLITE_OK)
            return std::unexpected(s.db_error("read schema version"));
        Stmt st(raw);
        if (sqlite3_step(st.get()) == SQLITE_ROW) {
            int v = sqlite3_column_int(st.get(), 0);
            if (v > kSchemaVersion)
                return Err(s.path_, ": schema version ", v, " is newer than this berth's (", kSchemaVersion, ")");
            return {};
        }
        return s.exec("INSERT INTO schema_version (version) VALUES (1)");
    }();
    if (!schema) {
        (void)s.exec("ROLLBACK");
        return std::unexpected(schema.error());
    }
    TRY(s.exec("COMMIT"));
    return s;
}

namespace {

// A prepared statement with its arguments bound, run to completion or stepped.
class Query {
public:
    Query(sqlite3* db, const char* sql) : db_(db) {
        sqlite3_stmt* raw = nullptr;
        ok_ = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) == SQLITE_OK;
        st_.reset(raw);
    }
    Query& bind(const std::string& v) {
        if (ok_) ok_ = sqlite3_bind_text(st_.get(), ++n_, v.c_str(), -1, SQLITE_TRANSIENT) == SQLITE_OK;
        return *this;
    }
    Query& bind(int64_t v) {
        if (ok_) ok_ = sqlite3_bind_int64(st_.get(), ++n_, v) == SQLITE_OK;
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE, or an error code.
    int step() { return ok_ ? sqlite3_step(st_.get()) : SQLITE_ERROR; }
    sqlite3_stmt* get() { return st_.get(); }
    Result<void> run(std::string_view what) {
        int rc = step();
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Err(what, ": ", sqlite3_errmsg(db_));
        return {};
    }

private:
    sqlite3* db_;
    Stmt st_;
    bool ok_ = false;
    int n_ = 0;
};

}  // namespace

Result<void> ImageStore::add(const ImageRecord& img, const std::vector<std::string>& names) {
    TRY(exec("BEGIN IMMEDIATE"));
    auto body = [&]() -> Result<void> {
        Query q(db_, "INSERT OR IGNORE INTO images (id, manifest_digest, created, size, config) VALUES (?,?,?,?,?)");
        TRY_CTX(
            q.bind(img.id).bind(img.manifest_digest).bind(img.created).bind(img.size).bind(img.config).run("add image"),
            path_);
        for (size_t i = 0; i < img.layers.size(); ++i) {
            Query l(db_, "INSERT OR IGNORE INTO image_layers (image_id, position, chain_id) VALUES (?,?,?)");
            TRY_CTX(l.bind(img.id).bind(static_cast<int64_t>(i)).bind(img.layers[i]).run("add layer"), path_);
        }
        for (const auto& b : img.blobs) {
            Query l(db_, "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?,?)");
            TRY_CTX(l.bind(img.id).bind(b).run("add blob"), path_);
        }
        for (const auto& n : names) {
            Query l(db_, "INSERT OR REPLACE INTO names (name, image_id) VALUES (?,?)");
            TRY_CTX(l.bind(n).bind(img.id).run("add name"), path_);
        }
        return {};
    }();
    if (!body) {
        (void)exec("ROLLBACK");
        return body;
    }
    return exec("COMMIT");
}

Result<std::optional<ImageRecord>> ImageStore::get(const std::string& id) {
    Query q(db_, "SELECT id, manifest_digest, created, size, config FROM images WHERE id = ?");
    q.bind(id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<ImageRecord>{};
    if (rc != SQLITE_ROW) return std::unexpected(db_error("read image"));
    ImageRecord r;
    r.id = column_text(q.get(), 0);
    r.manifest_digest = column_text(q.get(), 1);
    r.created = column_text(q.get(), 2);
    r.size = sqlite3_column_int64(q.get(), 3);
    r.config = column_text(q.get(), 4);
    Query l(db_, "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY position");
    l.bind(id);
    while ((rc = l.step()) == SQLITE_ROW)
        r.layers.push_back(column_text(l.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("read layers"));
    Query b(db_, "SELECT digest FROM image_blobs WHERE image_id = ? ORDER BY digest");
    b.bind(id);
    while ((rc = b.step()) == SQLITE_ROW)
        r.blobs.push_back(column_text(b.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("read blobs"));
    Query n(db_, "SELECT name FROM names WHERE image_id = ? ORDER BY name");
    n.bind(id);
    while ((rc = n.step()) == SQLITE_ROW)
        r.names.push_back(column_text(n.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("read names"));
    return std::optional<ImageRecord>(std::move(r));
}

Result<std::vector<ImageRecord>> ImageStore::list() {
    std::vector<std::string> ids;
    Query q(db_, "SELECT id FROM images ORDER BY id");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        ids.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("list images"));
    std::vector<ImageRecord> out;
    for (const auto& id : ids)
        if (auto r = TRY(get(id))) out.push_back(std::move(*r));
    return out;
}

Result<std::optional<std::string>> ImageStore::resolve(const std::string& name_or_id, bool by_id) {
    if (!by_id) {
        Query q(db_, "SELECT image_id FROM names WHERE name = ?");
        q.bind(name_or_id);
        int rc = q.step();
        if (rc == SQLITE_ROW) return std::optional<std::string>(column_text(q.get(), 0));
        if (rc != SQLITE_DONE) return std::unexpected(db_error("resolve name"));
        return std::optional<std::string>{};
    }
    std::string prefix = name_or_id.starts_with("sha256:") ? name_or_id : "sha256:" + name_or_id;
    Query q(db_, "SELECT id FROM images WHERE substr(id, 1, length(?1)) = ?1");
    q.bind(prefix);
    std::vector<std::string> found;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        found.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("resolve id"));
    if (found.size() > 1) return Err("image id prefix \"", name_or_id, "\" is ambiguous");
    if (found.empty()) return std::optional<std::string>{};
    return std::optional<std::string>(found[0]);
}

Result<void> ImageStore::tag(const std::string& id, const std::string& name) {
    Query q(db_, "INSERT OR REPLACE INTO names (name, image_id) VALUES (?,?)");
    TRY_CTX(q.bind(name).bind(id).run("add name"), path_);
    return {};
}

Result<bool> ImageStore::untag(const std::string& name) {
    Query q(db_, "DELETE FROM names WHERE name = ?");
    TRY_CTX(q.bind(name).run("remove name"), path_);
    return sqlite3_changes(db_) > 0;
}

Result<void> ImageStore::remove(const std::string& id) {
    Query q(db_, "DELETE FROM images WHERE id = ?");
    TRY_CTX(q.bind(id).run("remove image"), path_);
    return {};
}

Result<std::set<std::string>> ImageStore::used_blobs() {
    std::set<std::string> out;
    Query q(db_, "SELECT DISTINCT digest FROM image_blobs");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.insert(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("list blobs"));
    return out;
}

Result<std::set<std::string>> ImageStore::used_layers() {
    std::set<std::string> out;
    Query q(db_, "SELECT DISTINCT chain_id FROM image_layers");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.insert(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("list layers"));
    return out;
}

}  // namespace berth::manager
