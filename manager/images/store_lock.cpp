#include "manager/images/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include "libutil/strings.hpp"

namespace berth::manager {

Result<StoreLock> StoreLock::take(const std::string& root, int op) {
    TRY(mkdir_all(root, 0700));
    std::string path = path_join(root, "storage.lock");
    StoreLock l;
    l.fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!l.fd_) return ErrnoErr("open ", path);
    while (::flock(l.fd_.get(), op) < 0)
        if (errno != EINTR) return ErrnoErr("lock ", path);
    return l;
}

Result<StoreLock> StoreLock::shared(const std::string& root) {
    return take(root, LOCK_SH);
}

Result<StoreLock> StoreLock::exclusive(const std::string& root) {
    return take(root, LOCK_EX);
}

}  // namespace berth::manager
