// Options every berth-runtime command shares (runc's global flags).
#pragma once
#include <string>

namespace berth::runtime {

struct GlobalOptions {
    std::string root = "/run/berth-runtime";
    std::string log_path;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
    std::string criu = "criu";  // --criu: the CRIU binary, a path or a name looked up in PATH
};

}  // namespace berth::runtime
