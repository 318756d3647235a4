// One function per berth verb (manager/cli/VERB.cpp). Each returns the
// process exit code and reports its own errors as one line on stderr.
#pragma once
#include <optional>
#include <string>

#include "libutil/error.hpp"
#include "manager/images/image_store.hpp"
#include "manager/images/reference.hpp"
#include "manager/registry/config.hpp"

namespace berth::manager {

struct GlobalOptions {
    std::string root = "/var/lib/berth";
    bool debug = false;
    // Until a registries configuration exists, short names resolve to
    // "localhost/", as podman names the images it builds or loads locally.
    ReferenceDefaults refs{"localhost", ""};
    // registries.conf (--registries-conf, $BERTH_REGISTRIES_CONF); its
    // default-registry replaces "localhost" above.
    registry::RegistriesConfig registries;
};

// podman's exit code for an error in the engine itself, usage errors included.
constexpr int kExitError = 125;

int cmd_version(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_load(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_images(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_rmi(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_image(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_pull(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_push(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_login(const GlobalOptions& g, int argc, char** argv, int start);
int cmd_logout(const GlobalOptions& g, int argc, char** argv, int start);

struct Args;
// --tls-verify[=BOOL]: nullopt when not given.
Result<std::optional<bool>> tls_verify_flag(const Args& a);

// The image ARG names: a name ("busybox", "localhost/busybox:1") or an id
// (prefix). Names win over ids, as in podman. Errors: "ARG: image not known".
Result<std::string> find_image(ImageStore& db, const GlobalOptions& g, const std::string& arg);
// The first 12 hex digits of an id.
std::string short_id(const std::string& id);

// Prints "berth: MESSAGE" (through the log) and returns kExitError.
int fail(const Error& e);

}  // namespace berth::manager
