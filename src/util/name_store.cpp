#include "mbuild/util/name_store.hpp"

#include <algorithm>
#include <cstring>

namespace mbuild {

std::string_view NameStore::add(std::string_view name) {
  // Chunks of 64 KiB: a few per file, and never a name split over two.
  constexpr size_t k_chunk_bytes = size_t{64} * 1024;
  if (name.size() > m_left) {
    const size_t size = std::max(k_chunk_bytes, name.size());
    std::shared_ptr<char[]> chunk(new char[size]);
    m_next = chunk.get();
    m_left = size;
    m_chunks.push_back(std::move(chunk));
  }
  if (!name.empty()) {
    std::memcpy(m_next, name.data(), name.size());
  }
  const std::string_view out(m_next, name.size());
  m_next += name.size();
  m_left -= name.size();
  return out;
}

void NameStore::keep(const NameStore& other) {
  m_chunks.insert(m_chunks.end(), other.m_chunks.begin(), other.m_chunks.end());
}

}  // namespace mbuild
