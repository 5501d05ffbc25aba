// Bytes read from a file or the network, followed by padding so simdjson can parse them in place
// (it reads up to 64 bytes past the end). The bytes themselves are not zero-filled first: headers
// run to megabytes and every touched page costs a fault. The padding is zeros, except in a
// mapped file, where it is the file's next bytes (simdjson only needs it readable).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace mbuild {

inline constexpr size_t k_parse_padding = 64;  // >= SIMDJSON_PADDING

// Frees a ByteBuffer's bytes: munmap for a mapping of `mapped` bytes, delete[] otherwise.
struct ByteRelease {
  size_t mapped = 0;
  void operator()(char* p) const {
    if (mapped != 0) {
      ::munmap(p, mapped);
    } else {
      delete[] p;
    }
  }
};

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t size) : m_data(new char[size + k_parse_padding]), m_size(size) {
    std::memset(m_data.get() + size, 0, k_parse_padding);
  }
  static ByteBuffer copy_of(std::string_view bytes) {
    ByteBuffer b(bytes.size());
    if (!bytes.empty()) {
      std::memcpy(b.data(), bytes.data(), bytes.size());
    }
    return b;
  }
  // The first `size` bytes of an open file of `file_size` bytes (size <= file_size), mapped
  // private rather than read: the pages come straight from the page cache, a fault per 16 pages
  // instead of one per page plus a copy. Past the end of the file the padding reads as zeros.
  // Empty (data() null) when the mapping fails; the caller then reads the file instead.
  static ByteBuffer map_file(int fd, size_t size, size_t file_size) {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t length = (size + k_parse_padding + page - 1) / page * page;
    const size_t file_pages = (file_size + page - 1) / page * page;
    void* at = nullptr;
    if (length <= file_pages) {
      at = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    } else {
      // Pages wholly past the end of a file fault with SIGBUS: put zero pages under them.
      at = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (at != MAP_FAILED && file_pages > 0 &&
          ::mmap(at, file_pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) ==
              MAP_FAILED) {
        ::munmap(at, length);
        at = MAP_FAILED;
      }
    }
    ByteBuffer b;
    if (at != MAP_FAILED) {
      b.m_data = std::unique_ptr<char[], ByteRelease>(static_cast<char*>(at), ByteRelease{length});
      b.m_size = size;
    }
    return b;
  }

  char* data() { return m_data.get(); }
  const char* data() const { return m_data.get(); }
  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  std::string_view view() const { return {m_data.get(), m_size}; }
  // Whether the bytes are a mapped file (keeping them costs no memory of the process's own).
  bool mapped() const { return m_data.get_deleter().mapped != 0; }
  // Keeps the first n bytes (n <= size) and re-pads after them.
  void truncate(size_t n) {
    if (n < m_size) {
      m_size = n;
      std::memset(m_data.get() + n, 0, k_parse_padding);
    }
  }

 private:
  std::unique_ptr<char[], ByteRelease> m_data;
  size_t m_size = 0;
};

}  // namespace mbuild
