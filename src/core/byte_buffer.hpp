// Bytes read from a file or the network, followed by zeroed padding so simdjson can parse them
// in place (it reads up to 64 bytes past the end). The bytes themselves are not zero-filled
// first: headers run to megabytes and every touched page costs a fault.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace mbuild {

inline constexpr size_t k_parse_padding = 64;  // >= SIMDJSON_PADDING

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

  char* data() { return m_data.get(); }
  const char* data() const { return m_data.get(); }
  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  std::string_view view() const { return {m_data.get(), m_size}; }
  // Keeps the first n bytes (n <= size) and re-pads after them.
  void truncate(size_t n) {
    if (n < m_size) {
      m_size = n;
      std::memset(m_data.get() + n, 0, k_parse_padding);
    }
  }

 private:
  std::unique_ptr<char[]> m_data;
  size_t m_size = 0;
};

}  // namespace mbuild
