#include "libutil/error.hpp"

#include <cstring>

namespace berth {

std::string Error::what() const {
    if (code == 0) return message;
    return message + ": " + std::strerror(code);
}

}  // namespace berth
