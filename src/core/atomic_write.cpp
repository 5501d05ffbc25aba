#include "core/atomic_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mbuild {

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability) {
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return fail(ErrorKind::io, path.string(), std::strerror(errno));
  }
  auto give_up = [&](int err) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return fail(ErrorKind::io, path.string(), std::strerror(err));
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return give_up(errno);
    }
    done += static_cast<size_t>(n);
  }
  if (durability == Durability::output && ::fsync(fd) != 0) {
    return give_up(errno);
  }
  // mkstemp creates 0600; an output file is as readable as any other the user writes.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return fail(ErrorKind::io, path.string(), std::strerror(err));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return fail(ErrorKind::io, path.string(), std::strerror(err));
  }
  return {};
}

}  // namespace mbuild
