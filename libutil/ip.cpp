#include "libutil/ip.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include "libutil/strings.hpp"

namespace berth {

bool IpAddress::is_v4() const { return family == AF_INET; }
bool IpAddress::is_v6() const { return family == AF_INET6; }

std::string IpAddress::str() const {
    if (family == 0) return "";
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

IpAddress IpAddress::plus(uint64_t n) const {
    IpAddress r = *this;
    int i = static_cast<int>(size()) - 1;
    unsigned carry = 0;
    for (; i >= 0 && (n || carry); --i) {
        unsigned v = r.bytes[i] + static_cast<unsigned>(n & 0xff) + carry;
        r.bytes[i] = static_cast<uint8_t>(v & 0xff);
        carry = v >> 8;
        n >>= 8;
    }
    return r;
}

Result<IpAddress> parse_ip(std::string_view s) {
    std::string t(s);
    if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    IpAddress a;
    if (::inet_pton(AF_INET, t.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (::inet_pton(AF_INET6, t.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return Err("\"", s, "\" is not an IP address");
}

namespace {

// `a` with every bit after the first `prefix` ones cleared (or set).
IpAddress mask(IpAddress a, int prefix, bool set) {
    for (size_t i = 0; i < a.size(); ++i) {
        int bit0 = static_cast<int>(i) * 8;
        if (bit0 + 8 <= prefix) continue;
        int keep = prefix > bit0 ? prefix - bit0 : 0;
        uint8_t m = static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
        a.bytes[i] = set ? static_cast<uint8_t>(a.bytes[i] | ~m) : static_cast<uint8_t>(a.bytes[i] & m);
    }
    return a;
}

}  // namespace

std::string Subnet::str() const { return cat(network.str(), "/", prefix); }

bool Subnet::contains(const IpAddress& a) const {
    return a.family == network.family && mask(a, prefix, false) == network;
}

bool Subnet::overlaps(const Subnet& o) const {
    if (o.network.family != network.family) return false;
    int p = std::min(prefix, o.prefix);
    return mask(network, p, false) == mask(o.network, p, false);
}

uint64_t Subnet::size() const {
    int host_bits = static_cast<int>(network.size()) * 8 - prefix;
    if (host_bits >= 63) return uint64_t{1} << 63;
    return uint64_t{1} << host_bits;
}

std::optional<IpAddress> Subnet::at(uint64_t n) const {
    if (n >= size()) return std::nullopt;
    return network.plus(n);
}

uint64_t Subnet::offset(const IpAddress& a) const {
    uint64_t n = 0;
    for (size_t i = 0; i < a.size(); ++i) n = (n << 8) | static_cast<uint8_t>(a.bytes[i] ^ network.bytes[i]);
    return n;
}

IpAddress Subnet::last() const { return mask(network, prefix, true); }

Result<Subnet> parse_subnet(std::string_view s, bool allow_host_bits) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return Err("\"", s, "\" is not a subnet (ADDRESS/PREFIX)");
    auto a = parse_ip(s.substr(0, slash));
    if (!a) return Err("\"", s, "\" is not a subnet: ", a.error().message);
    auto p = parse_u64(s.substr(slash + 1));
    int max = a->is_v4() ? 32 : 128;
    if (!p || *p > static_cast<uint64_t>(max)) return Err("\"", s, "\": the prefix length must be 0 to ", max);
    Subnet n{mask(*a, static_cast<int>(*p), false), static_cast<int>(*p)};
    if (!allow_host_bits && n.network != *a) return Err("\"", s, "\": host bits are set (did you mean ", n.str(), "?)");
    return n;
}

}  // namespace berth
