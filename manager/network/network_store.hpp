// Networks and their address leases in berth.db (schema v4): what `berth
// network` creates and lists, and the IPAM `run` and `network connect` use.
//
// A lease belongs to a container from create to rm (the row goes with the
// container's: ON DELETE CASCADE), so an address is stable across restarts,
// and UNIQUE(network, address) makes two containers with one address
// impossible, whatever two berth processes do at once.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libutil/error.hpp"
#include "libutil/ip.hpp"
#include "manager/images/image_store.hpp"

namespace berth::manager {

// The default network's name (docker's) and bridge device.
inline constexpr const char* kDefaultNetwork = "bridge";
inline constexpr const char* kDefaultBridge = "berth0";
inline constexpr const char* kDefaultSubnet = "10.88.0.0/16";

struct NetworkRecord {
    std::string name;
    std::string id;  // 64 hex digits
    std::string driver = "bridge";
    std::string bridge;  // the bridge device: berth0, berth1, ...
    std::optional<Subnet> subnet4, subnet6;
    IpAddress gateway4, gateway6;
    bool internal = false;
    std::map<std::string, std::string> labels, options;
    std::string created;  // RFC 3339
};

struct Lease {
    std::string network;
    std::string container_id;
    IpAddress address;
    int prefix = 0;  // the subnet's
    std::vector<std::string> aliases;
    std::string iface;  // "eth0", "eth1", ... in the container
};

// `berth network create`'s flags.
struct NetworkCreateOptions {
    std::string name;
    std::string driver = "bridge";
    std::vector<std::string> subnets;   // --subnet, at most one per family
    std::vector<std::string> gateways;  // --gateway, matched to the subnets by family
    bool internal = false;
    bool ipv6 = false;  // --ipv6: an IPv6 subnet too (picked when none is given)
    std::map<std::string, std::string> labels, options;
};

// docker's rule for network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64.
Result<void> validate_network_name(const std::string& name);
// The names no `network rm` takes: the default network and the --network
// modes none and host.
Result<void> check_removable(const std::string& name);

class NetworkStore {
public:
    explicit NetworkStore(ImageStore& db) : db_(db) {}

    // Checks and records a network: the name is free and not reserved
    // (bridge, none, host, default); subnets parse, hold 4 addresses at
    // least, do not overlap another network's, gateways lie inside; none
    // given: the first free 10.89.N.0/24 (and with --ipv6 the first free
    // fd00:4254:N::/64). The bridge device is the first free berthN (N >= 1).
    // Options (-o) are refused: none is applied yet.
    Result<NetworkRecord> create(const NetworkCreateOptions& o);
    // The default network, made on first use (BERTH_DEFAULT_SUBNET, else
    // 10.88.0.0/16); concurrent first uses agree on one row.
    Result<NetworkRecord> default_network();
    // By name, full id or a unique id prefix (3 characters at least).
    Result<std::optional<NetworkRecord>> get(const std::string& name_or_id);
    // Sorted by name (the default network only once it exists).
    Result<std::vector<NetworkRecord>> list();
    // Ids of the containers with a lease on the network, sorted.
    Result<std::vector<std::string>> users(const std::string& name);
    // Deletes the record; errors when containers use it ("network NAME is in
    // use by container CNAME") or check_removable refuses the name.
    Result<void> remove(const std::string& name);
    // Deletes every user network no container has a lease on, in one
    // transaction; returns their records (for teardown_network), by name.
    Result<std::vector<NetworkRecord>> prune();

    // A lease of `family` (4 or 6) on `net` for the container: `requested`
    // when given (inside the subnet, not the network, gateway or broadcast
    // address, free), else the lowest free address. One write transaction.
    Result<Lease> allocate(const NetworkRecord& net, const std::string& container_id, int family,
                           const std::optional<IpAddress>& requested, const std::vector<std::string>& aliases,
                           const std::string& iface);
    Result<std::vector<Lease>> leases_of_container(const std::string& container_id);
    Result<std::vector<Lease>> leases_of_network(const std::string& network);
    // The container's leases, on one network or all.
    Result<void> release(const std::string& container_id, const std::optional<std::string>& network = {});

private:
    ImageStore& db_;
};

}  // namespace berth::manager
