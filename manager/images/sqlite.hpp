// The few SQLite helpers the manager's stores share: statements that
// finalize themselves and a Query that binds arguments in order.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "libutil/error.hpp"

namespace berth::manager {

struct StmtFree {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFree>;

inline std::string column_text(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
}

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

}  // namespace berth::manager
