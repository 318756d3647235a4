#include "manager/containers/tidy.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "libutil/strings.hpp"
#include "manager/containers/events.hpp"
#include "manager/containers/names.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/network/setup.hpp"

namespace berth::manager {

namespace {

void walk_upper(const std::string& upper, const std::vector<std::string>& lowers, const std::string& rel,
                std::vector<std::pair<std::string, char>>& out) {
    DIR* d = ::opendir((upper + rel).c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (auto* ent = ::readdir(d))
        if (std::string_view(ent->d_name) != "." && std::string_view(ent->d_name) != "..") names.push_back(ent->d_name);
    ::closedir(d);
    for (const auto& n : names) {
        std::string path = rel + "/" + n;
        struct stat st;
        if (::lstat((upper + path).c_str(), &st) < 0) continue;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            out.emplace_back(path, 'D');
            continue;
        }
        bool existed = std::any_of(lowers.begin(), lowers.end(), [&](const std::string& l) {
            struct stat ls;
            return ::lstat((l + path).c_str(), &ls) == 0;
        });
        out.emplace_back(path, existed ? 'C' : 'A');
        if (S_ISDIR(st.st_mode)) walk_upper(upper, lowers, path, out);
    }
}

}  // namespace

Result<void> rename_container(Engine& e, ContainerRecord& c, const std::string& name) {
    if (!valid_container_name(name))
        return Err("invalid container name \"", name, "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    auto held = TRY(ContainerLock::take(e.paths, c.id));
    TRY(e.db().transaction([&]() -> Result<void> {
        Query taken(e.db().handle(), "SELECT id FROM containers WHERE name = ? AND id != ?");
        taken.bind(name).bind(c.id);
        if (taken.step() == SQLITE_ROW)
            return Err("the container name \"", name, "\" is already in use by ", column_text(taken.get(), 0));
        Query q(e.db().handle(), "UPDATE containers SET name = ? WHERE id = ?");
        return q.bind(name).bind(c.id).run("berth.db: rename container");
    }));
    std::string old = c.name;
    c.name = name;
    record_event(e.paths.runroot, Event{"container", "rename", c.id, {{"name", name}, {"oldName", old}, {"image", c.image_name}}});
    // The name is in its own and its peers' /etc/hosts.
    return rewrite_hosts(e, c);
}

Result<std::vector<std::pair<std::string, char>>> container_changes(Engine& e, const ContainerRecord& c) {
    auto lowers = TRY(e.storage.lower_dirs(c.image_id, 0));
    std::vector<std::pair<std::string, char>> changes;
    walk_upper(e.storage.upper_dir(c.id), lowers, "", changes);
    std::sort(changes.begin(), changes.end());
    return changes;
}

Result<PruneResult> prune_containers(Engine& e) {
    TRY(repair_containers(e));
    PruneResult out;
    for (auto& c : TRY(e.containers.list())) {
        if (auto lock = ContainerLock::try_take(e.paths, c.id); lock && *lock) (void)refresh(e, c);
        if (c.state != "exited" && c.state != "created") continue;
        if (auto r = remove_container(e, c.id, false, false); !r) {
            // Started since it was listed: not ours to prune.
            if (r.error().message.find("container is running") == std::string::npos && !out.error)
                out.error = r.error();
            continue;
        }
        out.removed.push_back(c.id);
    }
    return out;
}

}  // namespace berth::manager
