// berth login [-u USER] [-p PASS | --password-stdin] [--tls-verify=BOOL] [--authfile F] REGISTRY
// berth logout [--authfile F] [--all | REGISTRY]
#include <cstdio>
#include <iostream>

#include "libutil/strings.hpp"
#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/registry/auth.hpp"
#include "manager/registry/client.hpp"

namespace berth::manager {

namespace {

// "https://host:port/..." or "host:port" -> "host:port".
std::string registry_host(std::string s) {
    if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
    if (auto p = s.find('/'); p != std::string::npos) s.resize(p);
    return s;
}

Result<std::string> run_login(const GlobalOptions& g, const Args& a) {
    if (a.positional.size() != 1) return Err("login: exactly one registry is required");
    std::string host = registry_host(a.positional[0]);
    if (host.empty()) return Err("login: invalid registry ", quote(a.positional[0]));
    registry::Credentials c;
    c.username = a.get("username");
    if (c.username.empty()) return Err("login: a user name is required (-u USER)");
    if (a.has("password") && a.has("password-stdin"))
        return Err("login: -p and --password-stdin are mutually exclusive");
    if (a.has("password")) {
        c.password = a.get("password");
    } else if (a.has("password-stdin")) {
        std::getline(std::cin, c.password);
        if (!c.password.empty() && c.password.back() == '\r') c.password.pop_back();
    } else {
        return Err("login: a password is required (-p PASS or --password-stdin)");
    }
    if (c.password.empty()) return Err("login: the password must not be empty");
    auto verify = TRY(tls_verify_flag(a));
    const registry::RegistryEntry* entry = g.registries.find(host);
    auto http = std::make_shared<registry::HttpClient>(verify.value_or(!(entry && entry->insecure)));
    registry::RegistryClient client(http, host, "", c);
    TRY_CTX(client.ping(), "login ", host);
    std::string file = a.get("authfile", registry::default_auth_file());
    TRY_CTX(registry::store_auth(file, host, c), "login ", host);
    return host;
}

}  // namespace

int cmd_login(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"username", 'u', true},
                         {"password", 'p', true},
                         {"password-stdin", 0, false},
                         {"tls-verify", 0, false},
                         {"authfile", 0, true}});
    if (!a) return fail(a.error());
    auto r = run_login(g, *a);
    if (!r) return fail(r.error());
    std::printf("Login Succeeded!\n");
    return 0;
}

int cmd_logout(const GlobalOptions&, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"all", 'a', false}, {"authfile", 0, true}});
    if (!a) return fail(a.error());
    std::string file = a->get("authfile", registry::default_auth_file());
    if (a->has("all")) {
        if (!a->positional.empty()) return fail(Error{0, "logout: --all takes no registry"});
        auto r = registry::remove_auth(file, "");
        if (!r) return fail(r.error());
        std::printf("Removed login credentials for all registries\n");
        return 0;
    }
    if (a->positional.size() != 1) return fail(Error{0, "logout: exactly one registry is required (or --all)"});
    std::string host = registry_host(a->positional[0]);
    auto r = registry::remove_auth(file, host);
    if (!r) return fail(r.error());
    if (!*r) return fail(Error{0, cat("logout: not logged into ", host)});
    std::printf("Removed login credentials for %s\n", host.c_str());
    return 0;
}

}  // namespace berth::manager
