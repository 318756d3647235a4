// berth push [-q] [--tls-verify=BOOL] [--authfile F] [--creds U[:P]] IMAGE [DESTINATION]
#include "manager/images/push.hpp"

#include <unistd.h>

#include "manager/cli/args.hpp"
#include "manager/cli/commands.hpp"
#include "manager/images/store_lock.hpp"

namespace berth::manager {

namespace {

Result<void> run_push(const GlobalOptions& g, const Args& a) {
    if (a.positional.empty() || a.positional.size() > 2)
        return Err("push: an image and an optional destination are required");
    // The image's blobs stay while they are read and sent (store_lock.hpp).
    auto held = TRY(StoreLock::shared(g.root));
    auto db = TRY(ImageStore::open(g.root));
    auto img = TRY(find_image_record(db, g, a.positional[0]));
    const std::string& dest_text = a.positional.size() == 2 ? a.positional[1] : a.positional[0];
    auto dest = TRY(parse_reference(dest_text, g.refs));
    PushOptions o;
    o.tls_verify = TRY(tls_verify_flag(a));
    o.authfile = a.get("authfile");
    if (a.has("creds")) o.creds = TRY(registry::parse_creds(a.get("creds")));
    PullProgress progress(a.has("quiet")     ? PullProgress::Mode::Quiet
                          : ::isatty(2) == 1 ? PullProgress::Mode::Terminal
                                             : PullProgress::Mode::Plain);
    auto r = push_image(img, dest, g.root, g.registries, o, progress);
    progress.stop();
    if (!r) return Wrap(r.error(), "push ", dest.str());
    return {};
}

}  // namespace

int cmd_push(const GlobalOptions& g, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start,
                        {{"quiet", 'q', false}, {"tls-verify", 0, false}, {"authfile", 0, true}, {"creds", 0, true}});
    if (!a) return fail(a.error());
    if (auto r = run_push(g, *a); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::manager
