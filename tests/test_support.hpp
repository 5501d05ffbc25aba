// Helpers shared by the unit tests: safetensors bytes from a JSON header, temporary folders,
// the corpus and its truth.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mbuild::test {

inline std::filesystem::path data_dir() {
  return MBUILD_TEST_DATA;
}
// Replicas the build writes from their scripts (too large to commit); unit tests only.
#ifdef MBUILD_GENERATED_DATA
inline std::filesystem::path generated_dir() {
  return MBUILD_GENERATED_DATA;
}
#endif
inline std::filesystem::path corpus_dir() {
  return data_dir() / "corpus";
}

inline nlohmann::json truth() {
  std::ifstream in(corpus_dir() / "truth.json");
  return nlohmann::json::parse(in);
}

// The 8-byte little-endian length followed by `header` (a header-only file, as in the corpus).
inline std::string safetensors_bytes(std::string_view header) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) {
    out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  out += header;
  return out;
}

// A header with tensors laid out back to back: {name: (dtype, shape)} in the given order.
struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
};

inline unsigned spec_bits(const std::string& dtype) {
  if (dtype == "F4")
    return 4;
  if (dtype == "F6_E2M3" || dtype == "F6_E3M2")  // not "F64", which also starts with F6
    return 6;
  if (dtype == "BOOL" || dtype == "U8" || dtype == "I8" || dtype.starts_with("F8"))
    return 8;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16")
    return 16;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32")
    return 32;
  return 64;
}

inline std::string header_json(const std::vector<TensorSpec>& tensors,
                               const nlohmann::json& metadata = nullptr) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.is_null()) {
    h["__metadata__"] = metadata;
  }
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    uint64_t elements = 1;
    for (uint64_t d : t.shape) {
      elements *= d;
    }
    uint64_t bytes = elements * spec_bits(t.dtype) / 8;
    h[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  return h.dump();
}

// A fresh folder under the system temp dir, removed when the object goes.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() /
             ("mbuild-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path write(const std::string& name, std::string_view content) const {
    std::filesystem::path p = m_path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return p;
  }

 private:
  std::filesystem::path m_path;
};

}  // namespace mbuild::test
