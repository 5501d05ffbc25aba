// Where tensor names live: copied into chunks, or viewed in place in the file bytes they were
// read from.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "mbuild/util/byte_buffer.hpp"

namespace mbuild {

// Bytes that tensor names point into. Its chunks never move, and copies share them, so a name
// stays valid as long as any header, index or model holding its store lives.
class NameStore {
 public:
  NameStore() = default;
  NameStore(const NameStore& other) : m_chunks(other.m_chunks) {}
  NameStore& operator=(const NameStore& other) {
    if (this == &other) {
      return *this;
    }
    m_chunks = other.m_chunks;
    m_next = nullptr;  // a copy never writes into a chunk it shares
    m_left = 0;
    return *this;
  }
  NameStore(NameStore&& other) noexcept { *this = std::move(other); }
  NameStore& operator=(NameStore&& other) noexcept {
    m_chunks = std::move(other.m_chunks);
    m_next = std::exchange(other.m_next, nullptr);
    m_left = std::exchange(other.m_left, 0);
    return *this;
  }
  ~NameStore() = default;

  // Copies `name` in; the view stays valid for the store's (and its copies') lifetime.
  std::string_view add(std::string_view name);
  // Keeps `other`'s names alive for as long as this store lives.
  void keep(const NameStore& other);
  // Keeps `bytes` alive too: names may view into it.
  void keep(std::shared_ptr<const ByteBuffer> bytes) { m_chunks.push_back(std::move(bytes)); }

 private:
  std::vector<std::shared_ptr<const void>> m_chunks;
  char* m_next = nullptr;
  size_t m_left = 0;
};

}  // namespace mbuild
