// Names for containers created without --name: "adjective_noun", as docker
// and podman make them, so people can type them.
#pragma once
#include <string>

namespace berth::manager {

std::string generate_container_name();

}  // namespace berth::manager
