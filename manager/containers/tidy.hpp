// Container verbs shared by the berth CLI and berth serve that tidy or
// read a container's state: rename, the rootfs changes (diff), prune.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "manager/containers/lifecycle.hpp"

namespace berth::manager {

// A new name (docker's rules), unique; the container's and its peers'
// /etc/hosts follow. Records a "rename" event with the old name.
Result<void> rename_container(Engine& e, ContainerRecord& c, const std::string& name);

// What the container's upper dir holds, sorted by path: 'A' added, 'C'
// changed, 'D' deleted (an overlay whiteout), as docker diff.
Result<std::vector<std::pair<std::string, char>>> container_changes(Engine& e, const ContainerRecord& c);

// Removes every exited or created container (after repairing half-made
// ones); one started meanwhile is left. The removed ids, and the first
// error of a removal that failed otherwise (the others went on).
struct PruneResult {
    std::vector<std::string> removed;
    std::optional<Error> error;
};
Result<PruneResult> prune_containers(Engine& e);

}  // namespace berth::manager
