// Wiring containers into networks: the bridge of a network, a veth pair per
// (container, network), addresses and routes through rtnetlink
// (manager/network/netlink.hpp), NAT and published ports through nftables
// (manager/network/firewall.hpp), /etc/hosts and /etc/resolv.conf
// (manager/network/text.hpp). docs/manager-design.md, "Networks", says why
// it is done this way.
//
// The life of a container's network:
//   create  attach_networks: a lease per network (and family) in berth.db,
//           then write_network_files and the peers' /etc/hosts.
//   start   make_netns: a network namespace bind-mounted on RUNROOT/netns/ID,
//           given to the runtime by path in config.json (so a checkpoint
//           keeps it out of CRIU's images, as podman's is);
//           connect_netns puts a veth pair into it per lease, addresses,
//           routes, and the published ports' rules; then the runtime
//           creates and starts the container in it (or restores it).
//   exit    the cleanup drops the bind mount: the namespace dies with the
//           last process, and the kernel removes the veth pairs;
//           unpublish_ports removes the rules. A start that a killed berth
//           left half done is settled by the next command's repair
//           (repair_containers): undone with these two, or recorded as
//           running when its shim got the container running.
//   rm      the leases go with the container's row; the peers' /etc/hosts
//           are written again.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "manager/containers/lifecycle.hpp"
#include "manager/network/network_store.hpp"
#include "manager/network/text.hpp"

namespace berth::manager {

// Removes what the kernel holds for a network (its bridge, its nftables
// rules) in the calling process's network namespace. Nothing there is fine.
Result<void> teardown_network(const NetworkRecord& net);

// True when the container has interfaces of its own on bridges (bridge or
// user networks), i.e. start must wire it between create and start.
bool has_own_networks(const RunOptions& o);

// At create: leases on every network the container joins (--ip/--ip6 on the
// first; aliases on user networks). Unknown networks are errors.
Result<void> attach_networks(Engine& e, const ContainerRecord& c, const RunOptions& o);

// At create: hostname, hosts and resolv.conf in the container's dir (bind
// mounted into it by config.json), and the hosts files of the containers
// that share a user network with it.
Result<void> write_network_files(Engine& e, const ContainerRecord& c, const RunOptions& o);

// At start, in the namespace make_netns made: bridges, veth pairs,
// addresses, routes, published ports. On error nothing of it is left but
// what dies with the network namespace.
Result<void> connect_netns(Engine& e, const ContainerRecord& c, const RunOptions& o, int netns_fd);

// At start (and restore), for a container with its own networks: a fresh
// network namespace bind-mounted on RUNROOT/netns/ID, lo up; its path.
// drop_netns removes the bind mount and the file (at the exit, at rm, after
// a failed start); with nothing there it is fine.
Result<std::string> make_netns(Engine& e, const ContainerRecord& c);
void drop_netns(Engine& e, const std::string& id);
// RUNROOT/netns/ID: where make_netns puts it (config.json names it from
// create on).
std::string netns_path(const Engine& e, const std::string& id);

// --network container:NAME, at start: config.json joins the running
// container's network namespace; its hosts and resolv.conf are copied.
Result<void> join_container_netns(Engine& e, const ContainerRecord& c, const RunOptions& o);

// The published ports' rules of a container that stopped (or is removed).
// Cheap when it published nothing: no nftables involved.
Result<void> unpublish_ports(Engine& e, const std::string& id);

// After the container's row is gone: rewrite the hosts files of the
// containers that shared a user network with it.
Result<void> update_peers(Engine& e, const std::vector<std::string>& networks);

// Rewrites the container's /etc/hosts and its peers' (after a rename).
Result<void> rewrite_hosts(Engine& e, const ContainerRecord& c);

// The ports the running container published, as bound at its last start.
Result<std::vector<PortBinding>> published_ports(Engine& e, const std::string& id);

// `berth network connect/disconnect`: a lease on `net`, hot-plugged into the
// container when it runs; peers' hosts files rewritten. For a running
// container the published ports' rules and the default routes follow, as
// a start would make them: ports to the first interface, routes from the
// first network that is not internal (none left: no port rules; ports.json
// keeps the ports claimed).
Result<void> network_connect(Engine& e, const ContainerRecord& c, const NetworkRecord& net,
                             const std::string& ip, const std::string& ip6, const std::vector<std::string>& aliases);
Result<void> network_disconnect(Engine& e, const ContainerRecord& c, const NetworkRecord& net);

// `berth network reload`, after a firewall reload or `nft flush ruleset`
// took the rules while the bridges stayed: the rules of every network whose
// bridge exists, and the published ports of a running container, made again
// as they were (replacing what is left of them).
Result<void> reload_network_rules(Engine& e);
Result<void> reload_port_rules(Engine& e, const ContainerRecord& c);

}  // namespace berth::manager
