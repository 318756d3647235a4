// `berth-shim status`: what a manager checks after a restart, or when it
// suspects a shim died: is the shim alive, is the container process alive,
// is the exit file there.
#pragma once

namespace berth::shim {

int status_main(int argc, char** argv);

}  // namespace berth::shim
