#include "manager/containers/names.hpp"

#include <sys/random.h>

#include <iterator>

namespace berth::manager {

namespace {

constexpr const char* kAdjectives[] = {
    "brave",   "calm",    "clever",  "eager",   "fancy",  "gentle", "happy",  "jolly",  "keen",    "lucid",
    "merry",   "nimble",  "proud",   "quick",   "quiet",  "sharp",  "steady", "sunny",  "swift",   "tidy",
    "vivid",   "wise",    "zealous", "bold",    "bright", "crisp",  "daring", "frosty", "golden",  "hardy",
    "lively",  "mellow",  "noble",   "patient", "plucky", "rapid",  "serene", "sturdy", "tender",  "witty"};
constexpr const char* kNouns[] = {
    "anchor",  "beacon",  "buoy",    "cabin",   "compass", "current", "dock",    "ferry",  "galley", "harbor",
    "hull",    "jetty",   "keel",    "lantern", "mast",    "mooring", "oar",     "pier",   "quay",   "rudder",
    "sail",    "schooner","skiff",   "sloop",   "tide",    "wharf",   "yacht",   "helm",   "bow",    "stern",
    "ketch",   "lagoon",  "marina",  "reef",    "shoal",   "cove",    "bay",     "inlet",  "capstan","bollard"};

unsigned random_index(size_t n) {
    unsigned v = 0;
    if (::getrandom(&v, sizeof v, 0) != sizeof v) v = 0;
    return v % static_cast<unsigned>(n);
}

}  // namespace

std::string generate_container_name() {
    return std::string(kAdjectives[random_index(std::size(kAdjectives))]) + "_" + kNouns[random_index(std::size(kNouns))];
}

}  // namespace berth::manager

namespace berth::manager {

bool valid_container_name(std::string_view name) {
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (name.size() < 2 || !alnum(name[0])) return false;
    for (char c : name.substr(1))
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

}  // namespace berth::manager
