#include "libutil/fd.hpp"
