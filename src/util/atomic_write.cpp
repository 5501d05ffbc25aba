#include "mbuild/util/atomic_write.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>

namespace mbuild {
namespace {

// Leftovers younger than this are left alone: their writer may be alive on another host
// sharing the folder, where a pid says nothing.
constexpr std::time_t k_stale_temp_age_seconds = 60;
// Room for ".tmp.<pid>.<random>" within NAME_MAX (255) whatever the output's name.
constexpr size_t k_max_name_in_temp = 200;

std::string temp_prefix(std::string_view file_name) {
  return "." + std::string(file_name.substr(0, k_max_name_in_temp)) + ".tmp.";
}

// A name no other writer picks: the pid, then 64 mixed bits (splitmix64 over a process-wide
// counter, the clock and the pid).
std::string temp_name(std::string_view file_name) {
  static std::atomic<uint64_t> counter{0};
  const auto now =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  uint64_t z = now ^ (static_cast<uint64_t>(::getpid()) << 40) ^
               (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  char hex[17] = {};
  for (int i = 15; i >= 0; --i) {
    hex[i] = "0123456789abcdef"[z & 0xf];
    z >>= 4;
  }
  return temp_prefix(file_name) + std::to_string(::getpid()) + "." + hex;
}

Result<void> io_error(const std::filesystem::path& path, int err) {
  return fail(ErrorKind::io, path.string(), std::strerror(err));
}

// Writes all of `content` to `fd`; 0 or the errno of the failed write.
int write_all(int fd, std::string_view content) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

// A device, a pipe or a socket: written in place, never renamed over.
bool is_special(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return false;
  }
  return S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

Result<void> write_in_place(const std::filesystem::path& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return io_error(path, errno);
  }
  if (int err = write_all(fd, content); err != 0) {
    ::close(fd);
    return io_error(path, err);
  }
  if (::close(fd) != 0) {
    return io_error(path, errno);
  }
  return {};
}

// Removes temporary files of `file_name` in `dir` that a killed writer left behind: their pid
// (from the name) is not a live process and they are over a minute old. Best effort.
void remove_stale_temps(const std::filesystem::path& dir, std::string_view file_name) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  const std::string prefix = temp_prefix(file_name);
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name(entry->d_name);
    if (!name.starts_with(prefix)) {
      continue;
    }
    const std::string_view rest = name.substr(prefix.size());
    long pid = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (ec != std::errc() || end == rest.data() || *end != '.' || pid <= 0 || pid == ::getpid()) {
      continue;
    }
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) {
      continue;  // alive (or someone else's to judge)
    }
    struct stat st {};
    if (::fstatat(::dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || now - st.st_mtime < k_stale_temp_age_seconds) {
      continue;
    }
    ::unlinkat(::dirfd(d), entry->d_name, 0);
  }
  ::closedir(d);
}

// Makes a rename in `dir` durable. Best effort: the new file is already in place.
void sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

bool is_atomic_write_temp(std::string_view name, std::string_view file_name) {
  const std::string prefix = temp_prefix(file_name);
  return name.size() > prefix.size() && name.starts_with(prefix);
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability) {
  if (is_special(path)) {
    return write_in_place(path, content);
  }
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  const std::string file_name = path.filename().string();
  // O_EXCL with mode 0666: the kernel applies the umask, as for any file the user writes
  // (no umask() call, which would race with other threads creating files).
  std::filesystem::path tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = dir / temp_name(file_name);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) {
      return io_error(path, errno);
    }
  }
  if (fd < 0) {
    return io_error(path, EEXIST);
  }
  auto give_up = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error(path, err);
  };
  if (int err = write_all(fd, content); err != 0) {
    return give_up(err);
  }
  if (durability == Durability::output && ::fsync(fd) != 0) {
    return give_up(errno);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(path, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(path, err);
  }
  if (durability == Durability::output) {
    sync_dir(dir);
  }
  remove_stale_temps(dir, file_name);
  return {};
}

}  // namespace mbuild
