#include "manager/network/firewall.hpp"

#include <dlfcn.h>
#include <nftables/libnftables.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "libutil/strings.hpp"

namespace berth::manager {

// The libnftables calls berth makes, resolved once.
struct Firewall::Api {
    decltype(&::nft_ctx_new) ctx_new = nullptr;
    decltype(&::nft_ctx_free) ctx_free = nullptr;
    decltype(&::nft_ctx_buffer_output) buffer_output = nullptr;
    decltype(&::nft_ctx_buffer_error) buffer_error = nullptr;
    decltype(&::nft_ctx_get_output_buffer) output = nullptr;
    decltype(&::nft_ctx_get_error_buffer) error = nullptr;
    decltype(&::nft_ctx_output_set_flags) set_flags = nullptr;
    decltype(&::nft_run_cmd_from_buffer) run = nullptr;

    static Result<const Api*> load() {
        static Api api;
        static std::string failure;
        static std::once_flag once;
        std::call_once(once, [] {
            void* lib = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
            if (!lib) {
                failure = "nftables: libnftables.so.1 not found (install libnftables1)";
                return;
            }
            auto sym = [&](auto& fn, const char* name) {
                fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
                if (!fn && failure.empty()) failure = cat("nftables: libnftables.so.1 has no ", name);
            };
            sym(api.ctx_new, "nft_ctx_new");
            sym(api.ctx_free, "nft_ctx_free");
            sym(api.buffer_output, "nft_ctx_buffer_output");
            sym(api.buffer_error, "nft_ctx_buffer_error");
            sym(api.output, "nft_ctx_get_output_buffer");
            sym(api.error, "nft_ctx_get_error_buffer");
            sym(api.set_flags, "nft_ctx_output_set_flags");
            sym(api.run, "nft_run_cmd_from_buffer");
        });
        if (!failure.empty()) return Err(failure);
        return &api;
    }
};

struct Firewall::Ctx {
    const Api* api;
    nft_ctx* ctx;
    ~Ctx() {
        if (ctx) api->ctx_free(ctx);
    }
};

namespace {

constexpr const char* kTable = "inet berth";

// The table and its chains; `flush` + one rule keeps the two jump chains
// exactly one rule long however many berth processes run this at once.
std::string table_batch() {
    return cat("add table ", kTable, "\n",
               "add chain ", kTable, " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n",
               "add chain ", kTable, " output { type nat hook output priority -100; policy accept; }\n",
               "add chain ", kTable, " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n",
               "add chain ", kTable, " forward { type filter hook forward priority filter; policy accept; }\n",
               "add chain ", kTable, " ports\n",
               "flush chain ", kTable, " prerouting\n",
               "add rule ", kTable, " prerouting fib daddr type local jump ports\n",
               "flush chain ", kTable, " output\n",
               "add rule ", kTable, " output fib daddr type local jump ports\n");
}

std::string first_line(std::string_view s) {
    auto t = trim(s);
    // nft's errors: "Error: ...\nthe batch line\n   ^^^"; the first line says it.
    return std::string(t.substr(0, t.find('\n')));
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

Firewall::Firewall(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
Firewall::Firewall(Firewall&&) noexcept = default;
Firewall& Firewall::operator=(Firewall&&) noexcept = default;
Firewall::~Firewall() = default;

Result<Firewall> Firewall::open() {
    const Api* api = TRY(Api::load());
    nft_ctx* ctx = api->ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return Err("nftables: cannot make a context");
    // Made in place: a temporary Ctx would free the context it names.
    std::unique_ptr<Ctx> c(new Ctx{api, ctx});
    api->buffer_output(ctx);
    api->buffer_error(ctx);
    api->set_flags(ctx, NFT_CTX_OUTPUT_HANDLE);
    return Firewall(std::move(c));
}

Result<std::string> Firewall::run(const std::string& batch, const std::string& what) {
    const Api* api = ctx_->api;
    int rc = api->run(ctx_->ctx, batch.c_str());
    // Each buffer can be read once: reading it empties it.
    const char* out = api->output(ctx_->ctx);
    const char* err = api->error(ctx_->ctx);
    if (rc != 0) {
        std::string msg = first_line(err ? err : "");
        if (msg.starts_with("Error: ")) msg = msg.substr(7);
        return Err("nftables: ", what, ": ", msg.empty() ? "failed" : msg);
    }
    return std::string(out ? out : "");
}

Result<std::string> Firewall::list() {
    // A missing table is no error here: list the tables first.
    auto tables = TRY(run("list tables inet", "list tables"));
    if (tables.find("table inet berth\n") == std::string::npos) return std::string();
    return run(cat("list table ", kTable), "list table inet berth");
}

Result<std::vector<std::pair<std::string, std::string>>> Firewall::rules_with(const std::string& comment) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string chain;
    std::string want = cat("comment ", quoted(comment), " # handle ");
    for (const auto& line : split(TRY(list()), '\n')) {
        auto t = trim(line);
        if (t.starts_with("chain ")) {
            auto rest = t.substr(6);
            chain = std::string(rest.substr(0, rest.find(' ')));
            continue;
        }
        auto at = t.find(want);
        if (at != std::string_view::npos) out.emplace_back(chain, std::string(t.substr(at + want.size())));
    }
    return out;
}

Result<std::vector<std::string>> Firewall::owners(const std::string& prefix) {
    std::set<std::string> out;
    std::string want = cat("comment \"", prefix);
    for (const auto& line : split(TRY(list()), '\n')) {
        auto at = line.find(want);
        if (at == std::string::npos) continue;
        auto start = at + want.size();
        auto end = line.find('"', start);
        if (end != std::string::npos) out.insert(line.substr(start, end - start));
    }
    return std::vector<std::string>(out.begin(), out.end());
}

Result<std::vector<std::string>> Firewall::container_owners() { return owners("ctr:"); }
Result<std::vector<std::string>> Firewall::network_owners() { return owners("net:"); }

Result<void> Firewall::add_network(const NetworkRules& net) {
    std::string tag = cat(" comment ", quoted("net:" + net.name), "\n");
    std::string br = quoted(net.bridge);
    std::string batch = table_batch();
    for (const auto& [chain, handle] : TRY(rules_with("net:" + net.name)))
        batch += cat("delete rule ", kTable, " ", chain, " handle ", handle, "\n");
    auto rule = [&](const char* chain, const std::string& body) { batch += cat("add rule ", kTable, " ", chain, " ", body, tag); };
    // Isolation: nothing from this bridge to another berth bridge.
    rule("forward", cat("iifname ", br, " oifname \"berth*\" oifname != ", br, " drop"));
    if (net.internal) {
        rule("forward", cat("iifname ", br, " oifname != ", br, " drop"));
        rule("forward", cat("oifname ", br, " iifname != ", br, " drop"));
    } else {
        if (net.subnet4) {
            rule("postrouting", cat("ip saddr ", net.subnet4->str(), " oifname != ", br, " masquerade"));
            // 127.0.0.1:PORT DNAT'ed to a container: its source must become
            // an address the container can answer.
            rule("postrouting", cat("oifname ", br, " ip saddr 127.0.0.0/8 masquerade"));
        }
        if (net.subnet6) rule("postrouting", cat("ip6 saddr ", net.subnet6->str(), " oifname != ", br, " masquerade"));
    }
    TRY(run(batch, cat("add rules for network ", net.name)));
    return {};
}

Result<void> Firewall::remove_network(const std::string& name) {
    std::string batch;
    for (const auto& [chain, handle] : TRY(rules_with("net:" + name)))
        batch += cat("delete rule ", kTable, " ", chain, " handle ", handle, "\n");
    if (batch.empty()) return {};
    TRY(run(batch, cat("remove the rules of network ", name)));
    return {};
}

Result<void> Firewall::add_ports(const std::string& container_id, const std::vector<PortMapping>& ports,
                                 const IpAddress& v4, const IpAddress& v6) {
    if (ports.empty()) return {};
    std::string tag = cat(" comment ", quoted("ctr:" + container_id), "\n");
    std::string batch = table_batch();
    for (const auto& p : ports) {
        std::string l4 = cat(p.proto, " dport ", p.host_port);
        auto add = [&](const IpAddress& to, const char* fam) {
            std::string match = p.host_ip.empty() ? cat("meta nfproto ", fam == std::string("ip") ? "ipv4" : "ipv6")
                                                   : cat(fam, " daddr ", p.host_ip.str());
            std::string dest = to.is_v6() ? cat("[", to.str(), "]:", p.container_port) : cat(to.str(), ":", p.container_port);
            batch += cat("add rule ", kTable, " ports ", match, " ", l4, " dnat ", fam, " to ", dest, tag);
        };
        if (p.host_ip.is_v6()) {
            if (!v6.empty()) add(v6, "ip6");
        } else if (p.host_ip.is_v4()) {
            if (!v4.empty()) add(v4, "ip");
        } else {
            if (!v4.empty()) add(v4, "ip");
            if (!v6.empty()) add(v6, "ip6");
        }
    }
    TRY(run(batch, cat("publish the ports of container ", container_id.substr(0, 12))));
    return {};
}

Result<void> Firewall::remove_container(const std::string& container_id) {
    std::string batch;
    for (const auto& [chain, handle] : TRY(rules_with("ctr:" + container_id)))
        batch += cat("delete rule ", kTable, " ", chain, " handle ", handle, "\n");
    if (batch.empty()) return {};
    TRY(run(batch, cat("remove the port rules of container ", container_id.substr(0, 12))));
    return {};
}

}  // namespace berth::manager
