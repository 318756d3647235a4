// IPv4 and IPv6 addresses and subnets as the network code and IPAM use
// them: parsed with inet_pton, printed with inet_ntop, with the little
// arithmetic IPAM needs (the n-th address of a subnet).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libutil/error.hpp"

namespace berth {

struct IpAddress {
    int family = 0;                  // AF_INET or AF_INET6; 0 = none
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    bool is_v4() const;
    bool is_v6() const;
    size_t size() const { return is_v4() ? 4 : 16; }
    bool empty() const { return family == 0; }
    std::string str() const;  // "10.88.0.2", "fd00::2"
    // This address plus `n` (wraps around within the family's width).
    IpAddress plus(uint64_t n) const;
    auto operator<=>(const IpAddress&) const = default;
};

// "10.88.0.2" or "fd00::2" (also "[fd00::2]"). Error names the text.
Result<IpAddress> parse_ip(std::string_view s);

struct Subnet {
    IpAddress network;  // host bits cleared
    int prefix = 0;

    std::string str() const;  // "10.88.0.0/16"
    bool contains(const IpAddress& a) const;
    bool overlaps(const Subnet& o) const;
    // The address at offset n (network + n); nullopt when outside the subnet.
    std::optional<IpAddress> at(uint64_t n) const;
    // Offset of `a` within the subnet (a must be inside).
    uint64_t offset(const IpAddress& a) const;
    // Number of addresses, saturated at 2^63 for big IPv6 subnets.
    uint64_t size() const;
    // IPv4's broadcast (the last address); for IPv6 the last address too.
    IpAddress last() const;
};

// "10.88.0.0/16", "fd00::/64". Host bits set ("10.88.0.1/16") are an error
// unless `allow_host_bits` (then they are cleared).
Result<Subnet> parse_subnet(std::string_view s, bool allow_host_bits = false);

}  // namespace berth
