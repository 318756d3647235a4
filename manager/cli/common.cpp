#include "libutil/log.hpp"
#include "manager/cli/commands.hpp"

namespace berth::manager {

int fail(const Error& e) {
    log::fatal(e.what());
    return kExitError;
}

std::string short_id(const std::string& id) {
    return id.substr(id.find(':') + 1, 12);
}

Result<std::string> find_image(ImageStore& db, const GlobalOptions& g, const std::string& arg) {
    if (auto ref = parse_reference(arg, g.refs)) {
        if (auto id = TRY(db.resolve(ref->str(), false))) return *id;
    }
    if (looks_like_image_id(arg))
        if (auto id = TRY(db.resolve(arg, true))) return *id;
    return Err(arg, ": image not known");
}

}  // namespace berth::manager
