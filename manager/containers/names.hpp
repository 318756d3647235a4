// Names for containers created without --name: "adjective_noun", as docker
// and podman make them, so people can type them.
#pragma once
#include <string>
#include <string_view>

namespace berth::manager {

std::string generate_container_name();

}  // namespace berth::manager

namespace berth::manager {

// docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_container_name(std::string_view name);

}  // namespace berth::manager
