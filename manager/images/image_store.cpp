#include "manager/images/image_store.hpp"

#include <algorithm>
#include <memory>

#include "libutil/strings.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/containers/events.hpp"

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

// Migrations from version N to N+1, in order: kMigrations[N - 1].
constexpr const char* kMigrations[] = {
    // 2: container rootfs (manager/storage/rootfs.hpp) and read-only image
    // mounts. No ON DELETE CASCADE: an image a rootfs or a mount uses cannot be
    // deleted, even by a command that skipped the check.
    R"(
CREATE TABLE rootfs (
    id TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id),
    created TEXT NOT NULL,
    mount_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rootfs_image ON rootfs(image_id);
CREATE TABLE image_mounts (
    image_id TEXT PRIMARY KEY REFERENCES images(id),
    mount_count INTEGER NOT NULL
);
)",
    // 3: containers (manager/containers) and volumes (manager/volumes). A
    // container's id is its rootfs's id. No cascade from images or volumes:
    // an image or a volume a container uses cannot be deleted.
    R"(
CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL REFERENCES images(id),
    image_name TEXT NOT NULL,
    created TEXT NOT NULL,
    state TEXT NOT NULL,
    options TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    shim_pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    restart_count INTEGER NOT NULL DEFAULT 0,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX containers_image ON containers(image_id);
CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    options TEXT NOT NULL,
    labels TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    volume TEXT NOT NULL REFERENCES volumes(name),
    destination TEXT NOT NULL,
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX container_volumes_volume ON container_volumes(volume);
)",
    // 4: networks and their leases (manager/network/network_store.hpp). A
    // network with leases cannot be dropped; a lease goes with its container.
    R"(
CREATE TABLE networks (
    name TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    bridge TEXT NOT NULL UNIQUE,
    subnet4 TEXT NOT NULL DEFAULT '',
    gateway4 TEXT NOT NULL DEFAULT '',
    subnet6 TEXT NOT NULL DEFAULT '',
    gateway6 TEXT NOT NULL DEFAULT '',
    internal INTEGER NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE TABLE network_leases (
    network TEXT NOT NULL REFERENCES networks(name),
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    family INTEGER NOT NULL,
    address TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    iface TEXT NOT NULL,
    PRIMARY KEY (network, container_id, family),
    UNIQUE (network, address)
);
CREATE INDEX network_leases_container ON network_leases(container_id);
)",
};
static_assert(std::size(kMigrations) == ImageStore::kSchemaVersion - 1);

// Several berth commands may run at once; a writer waits this long for another.
constexpr int kBusyTimeoutMs = 10000;

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
    // WAL with synchronous=NORMAL: a commit does not wait for an fsync (the
    // WAL is synced at checkpoints); a power cut may lose the last commits but
    // never corrupts the database. What a lost commit can leave (a blob or a
    // layer nobody records, a container dir without a record) is what the
    // next command's repair already removes. No checkpoint on close: the
    // command that happens to be last would pay for everyone's (SQLite's
    // automatic checkpoints at 1000 pages still run).
    TRY(s.exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"));
    sqlite3_db_config(s.db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // The common case, a database already at this version, needs no write
    // transaction (every berth command opens the database).
    {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(s.db_, "SELECT version FROM schema_version", -1, &raw, nullptr) == SQLITE_OK) {
            Stmt st(raw);
            if (sqlite3_step(st.get()) == SQLITE_ROW && sqlite3_column_int(st.get(), 0) == kSchemaVersion) return s;
        }
    }
    TRY(s.exec("BEGIN IMMEDIATE"));
    auto schema = [&]() -> Result<void> {
        TRY(s.exec(kSchema));
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(s.db_, "SELECT version FROM schema_version", -1, &raw, nullptr) != SQLITE_OK)
            return std::unexpected(s.db_error("read schema version"));
        Stmt st(raw);
        int v = 1;
        if (sqlite3_step(st.get()) == SQLITE_ROW) {
            v = sqlite3_column_int(st.get(), 0);
            if (v > kSchemaVersion)
                return Err(s.path_, ": schema version ", v, " is newer than this berth's (", kSchemaVersion, ")");
            if (v == kSchemaVersion) return {};
        } else {
            TRY(s.exec("INSERT INTO schema_version (version) VALUES (1)"));
        }
        st.reset();
        for (; v < kSchemaVersion; ++v)
            TRY_CTX(s.exec(kMigrations[v - 1]), "migrate the schema to version ", v + 1);
        return s.exec(cat("UPDATE schema_version SET version = ", kSchemaVersion).c_str());
    }();
    if (!schema) {
        (void)s.exec("ROLLBACK");
        return std::unexpected(schema.error());
    }
    TRY(s.exec("COMMIT"));
    return s;
}

Result<void> ImageStore::transaction(const std::function<Result<void>()>& body) {
    TRY(exec("BEGIN IMMEDIATE"));
    if (auto r = body(); !r) {
        (void)exec("ROLLBACK");
        return r;
    }
    return exec("COMMIT");
}

Result<void> ImageStore::add(const ImageRecord& img, const std::vector<std::string>& names) {
    return transaction([&]() -> Result<void> {
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
    });
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
    record_event(Event{"image", "tag", id, {{"name", name}}});
    return {};
}

Result<bool> ImageStore::untag(const std::string& name) {
    auto id = TRY(resolve(name, false));
    Query q(db_, "DELETE FROM names WHERE name = ?");
    TRY_CTX(q.bind(name).run("remove name"), path_);
    bool removed = sqlite3_changes(db_) > 0;
    if (removed && id) record_event(Event{"image", "untag", *id, {{"name", name}}});
    return removed;
}

Result<void> ImageStore::remove(const std::string& id) {
    Query q(db_, "DELETE FROM images WHERE id = ?");
    TRY_CTX(q.bind(id).run("remove image"), path_);
    if (sqlite3_changes(db_) > 0) record_event(Event{"image", "delete", id, {}});
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
