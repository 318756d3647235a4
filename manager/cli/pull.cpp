// berth pull [-q] [--platform OS/ARCH[/VARIANT]] [--tls-verify=BOOL] [--authfile F] [--creds U[:P]] REF
#include "manager/images/pull.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/registry/http.hpp"

namespace berth::manager {

Result<std::optional<bool>> tls_verify_flag(const Args& a) {
    auto it = a.values.find("tls-verify");
    if (it == a.values.end()) return std::nullopt;
    return it->second != "false";
}

namespace {

void on_interrupt(int) {
    registry::interrupt_transfers();
}

Result<PulledImage> run_pull(const GlobalOptions& g, const Args& a) {
    if (a.positional.size() != 1) return Err("pull: exactly one image reference is required");
    auto ref = TRY(parse_reference(a.positional[0], g.refs));
    PullOptions o;
    o.tls_verify = TRY(tls_verify_flag(a));
    o.authfile = a.get("authfile");
    if (a.has("creds")) o.creds = TRY(registry::parse_creds(a.get("creds")));
    if (a.has("platform")) o.platform = TRY(parse_platform(a.get("platform")));
    PullProgress::Mode mode = a.has("quiet")     ? PullProgress::Mode::Quiet
                              : ::isatty(2) == 1 ? PullProgress::Mode::Terminal
                                                 : PullProgress::Mode::Plain;
    // SIGINT and SIGTERM stop the transfers; the pull then fails and cleans up
    // like any failed pull (no temp file, blob or layer of its own is left).
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    PullProgress progress(mode);
    progress.message(cat("Trying to pull ", ref.str(), "..."));
    return TRY_CTX(pull_image(ref, g.root, g.registries, o, progress), "pull ", ref.str());
}

}  // namespace

int cmd_pull(const GlobalOptions& g, int argc, char** argv, int start) {
    // --tls-verify alone means true; --tls-verify=false turns it off.
    auto a = parse_args(argc, argv, start,
                        {{"quiet", 'q', false},
                         {"platform", 0, true},
                         {"tls-verify", 0, false},
                         {"authfile", 0, true},
                         {"creds", 0, true}});
    if (!a) return fail(a.error());
    auto img = run_pull(g, *a);
    if (!img) return fail(img.error());
    std::printf("%s\n", img->id.substr(7).c_str());
    return 0;
}

}  // namespace berth::manager
