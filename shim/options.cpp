#include "shim/options.hpp"

#include "libutil/strings.hpp"

namespace berth::shim {

std::string Options::exit_path() const {
    if (!exit_file.empty()) return exit_file;
    if (exit_dir.empty()) return "";
    return path_join(exit_dir, exec ? id + "." + exec_id : id);
}

std::string Options::label() const { return exec ? id + " exec " + exec_id : id; }

}  // namespace berth::shim
