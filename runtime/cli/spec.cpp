#include <sys/stat.h>
#include <unistd.h>

#include "libutil/json.hpp"
#include "libutil/oci/spec.hpp"
#include "libutil/strings.hpp"
#include "runtime/cli/commands.hpp"

namespace berth::runtime {

int cmd_spec(const GlobalOptions&, int argc, char** argv, int start) {
    auto a = parse_args(argc, argv, start, {{"bundle", "b", true}, {"rootless", nullptr, false}});
    if (!a) return fail(a.error());
    std::string bundle = a->get("bundle", ".");
    std::string path = path_join(bundle, "config.json");
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return fail({0, "File " + path + " exists. Remove it first"});
    auto doc = oci::default_spec(a->has("rootless"), ::getuid(), ::getgid());
    if (auto r = write_file(path, json::write(doc, true) + "\n", 0666); !r) return fail(r.error());
    return 0;
}

}  // namespace berth::runtime
