#include "manager/containers/container_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <ctime>

#include "libutil/strings.hpp"
#include "manager/images/sqlite.hpp"

namespace berth::manager {

namespace {

constexpr const char* kColumns =
    "id, name, image_id, image_name, created, state, options, pid, shim_pid, exit_code, oom_killed, "
    "started_at, finished_at, restart_count, stop_requested";

ContainerRecord row(sqlite3_stmt* s) {
    ContainerRecord c;
    c.id = column_text(s, 0);
    c.name = column_text(s, 1);
    c.image_id = column_text(s, 2);
    c.image_name = column_text(s, 3);
    c.created = column_text(s, 4);
    c.state = column_text(s, 5);
    c.options = column_text(s, 6);
    c.pid = sqlite3_column_int64(s, 7);
    c.shim_pid = sqlite3_column_int64(s, 8);
    c.exit_code = sqlite3_column_int64(s, 9);
    c.oom_killed = sqlite3_column_int64(s, 10) != 0;
    c.started_at = column_text(s, 11);
    c.finished_at = column_text(s, 12);
    c.restart_count = sqlite3_column_int64(s, 13);
    c.stop_requested = sqlite3_column_int64(s, 14) != 0;
    return c;
}

Result<std::vector<ContainerRecord>> select(ImageStore& db, const std::string& where, const std::string& arg) {
    std::string sql = cat("SELECT ", kColumns, " FROM containers ", where, " ORDER BY created");
    Query q(db.handle(), sql.c_str());
    if (!arg.empty()) q.bind(arg);
    std::vector<ContainerRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(row(q.get()));
    if (rc != SQLITE_DONE) return std::unexpected(db.db_error("read containers"));
    return out;
}

}  // namespace

std::string now_rfc3339_nano() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm;
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

Result<UniqueFd> ContainerLock::open(const ContainerPaths& p, const std::string& id, bool wait) {
    TRY(mkdir_all(p.runroot + "/locks", 0700));
    std::string path = p.lock_file(id);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return ErrnoErr("open ", path);
    if (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        if (!wait && errno == EWOULDBLOCK) return UniqueFd();
        return ErrnoErr("lock ", path);
    }
    return fd;
}

Result<ContainerLock> ContainerLock::take(const ContainerPaths& p, const std::string& id) {
    ContainerLock l;
    l.fd_ = TRY(open(p, id, true));
    return l;
}

Result<std::optional<ContainerLock>> ContainerLock::try_take(const ContainerPaths& p, const std::string& id) {
    ContainerLock l;
    l.fd_ = TRY(open(p, id, false));
    if (!l.fd_) return std::optional<ContainerLock>{};
    return std::optional<ContainerLock>(std::move(l));
}

Result<void> ContainerStore::insert(const ContainerRecord& c) {
    return db_.transaction([&]() -> Result<void> {
        Query taken(db_.handle(), "SELECT id FROM containers WHERE name = ?");
        taken.bind(c.name);
        if (taken.step() == SQLITE_ROW)
            return Err("the container name \"", c.name, "\" is already in use by ", column_text(taken.get(), 0),
                       ": remove (or rename) that container to reuse the name");
        Query q(db_.handle(),
                "INSERT INTO containers (id, name, image_id, image_name, created, state, options) "
                "VALUES (?,?,?,?,?,?,?)");
        q.bind(c.id).bind(c.name).bind(c.image_id).bind(c.image_name).bind(c.created).bind(c.state).bind(c.options);
        return q.run("berth.db: add container");
    });
}

Result<std::optional<ContainerRecord>> ContainerStore::get(const std::string& id) {
    auto rows = TRY(select(db_, "WHERE id = ?", id));
    if (rows.empty()) return std::optional<ContainerRecord>{};
    return std::optional<ContainerRecord>(std::move(rows[0]));
}

Result<ContainerRecord> ContainerStore::find(const std::string& arg) {
    if (arg.empty()) return Err("no such container: \"\"");
    auto by_name = TRY(select(db_, "WHERE name = ?", arg));
    if (!by_name.empty()) return std::move(by_name[0]);
    bool hex = arg.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (hex) {
        auto rows = TRY(select(db_, "WHERE substr(id, 1, length(?1)) = ?1", arg));
        if (rows.size() == 1) return std::move(rows[0]);
        if (rows.size() > 1) return Err(arg, ": more than one container has an id starting with it");
    }
    return Err("no such container: ", arg);
}

Result<std::vector<ContainerRecord>> ContainerStore::list() {
    return select(db_, "", "");
}

Result<void> ContainerStore::update(const ContainerRecord& c) {
    Query q(db_.handle(),
            "UPDATE containers SET name = ?2, state = ?3, options = ?4, pid = ?5, shim_pid = ?6, exit_code = ?7, "
            "oom_killed = ?8, started_at = ?9, finished_at = ?10, restart_count = ?11, stop_requested = ?12 "
            "WHERE id = ?1");
    q.bind(c.id).bind(c.name).bind(c.state).bind(c.options).bind(c.pid).bind(c.shim_pid).bind(c.exit_code);
    q.bind(int64_t{c.oom_killed}).bind(c.started_at).bind(c.finished_at).bind(c.restart_count);
    q.bind(int64_t{c.stop_requested});
    return q.run("berth.db: update container " + c.id);
}

Result<bool> ContainerStore::mark_exited(const ContainerRecord& c) {
    Query q(db_.handle(),
            "UPDATE containers SET state = ?2, exit_code = ?3, oom_killed = ?4, finished_at = ?5, pid = 0 "
            "WHERE id = ?1 AND state IN ('running', 'paused')");
    q.bind(c.id).bind(c.state).bind(c.exit_code).bind(int64_t{c.oom_killed}).bind(c.finished_at);
    TRY(q.run("berth.db: update container " + c.id));
    return sqlite3_changes(db_.handle()) > 0;
}

Result<void> ContainerStore::remove(const std::string& id) {
    Query q(db_.handle(), "DELETE FROM containers WHERE id = ?");
    q.bind(id);
    return q.run("berth.db: remove container " + id);
}

Result<std::vector<std::string>> ContainerStore::using_image(const std::string& image_id) {
    Query q(db_.handle(), "SELECT id FROM containers WHERE image_id = ?");
    q.bind(image_id);
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(column_text(q.get(), 0));
    if (rc != SQLITE_DONE) return std::unexpected(db_.db_error("read containers"));
    return out;
}

}  // namespace berth::manager
