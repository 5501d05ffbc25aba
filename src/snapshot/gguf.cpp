#include "mbuild/snapshot/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "util/checked.hpp"

namespace mbuild {
namespace {

// Smallest encoded size of an array element of each value type (a string is its u64 length).
uint64_t min_element_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::u8:
    case GgufValueType::i8:
    case GgufValueType::boolean:
      return 1;
    case GgufValueType::u16:
    case GgufValueType::i16:
      return 2;
    case GgufValueType::u32:
    case GgufValueType::i32:
    case GgufValueType::f32:
      return 4;
    case GgufValueType::u64:
    case GgufValueType::i64:
    case GgufValueType::f64:
    case GgufValueType::string:
      return 8;
    case GgufValueType::array:
      return 12;
  }
  return 1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return 0;
    }
  }
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

// GGUF strings are UTF-8 by the specification; a value that is not has each bad byte replaced
// by U+FFFD, so reports (JSON) can carry it.
std::string as_utf8(std::string s) {
  if (valid_utf8(s)) {
    return s;
  }
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// A rough size of one tensor info, for estimating how much more of a header to fetch: a name
// like "blk.12.ffn_gate_exps.weight" (8 + ~28), 4 + 3 * 8 dims, type and offset.
constexpr uint64_t k_tensor_info_estimate = 80;
constexpr uint64_t k_kv_estimate = 64;

// Walks a header in `bytes`. Three outcomes: done (m_pos is the span), short (the bytes end
// first: m_need estimates how many to fetch), or an error (m_error). With a GgufHeader to fill,
// it keeps metadata and tensors; without, it only measures (the span).
class Walker {
 public:
  Walker(std::string_view bytes, uint64_t file_size, GgufHeader* out)
      : m_bytes(bytes), m_file_size(file_size), m_out(out) {}

  bool run() {
    uint32_t magic = 0;
    if (!read(magic)) {
      return false;
    }
    if (magic != k_gguf_magic) {
      return error("not a GGUF file (no GGUF magic)");
    }
    uint32_t version = 0;
    if (!read(version)) {
      return false;
    }
    if ((version & 0xFFFF) == 0 && version != 0) {
      return error(
          fmt::format("version {:#x} looks byte-swapped: big-endian GGUF files are not "
                      "supported",
                      version));
    }
    if (version == 1) {
      return error("GGUF version 1 is not supported (versions 2 and 3 are)");
    }
    if (version < 2 || version > 3) {
      return error(fmt::format("unknown GGUF version {} (versions 2 and 3 are read)", version));
    }
    m_version = version;
    if (!read(m_tensor_count) || !read(m_kv_count)) {
      return false;
    }
    if (m_tensor_count > k_max_tensors_per_file) {
      return error(fmt::format("tensor count {} is over the limit of {}", m_tensor_count,
                               k_max_tensors_per_file));
    }
    if (m_kv_count > k_max_gguf_kv) {
      return error(
          fmt::format("metadata count {} is over the limit of {}", m_kv_count, k_max_gguf_kv));
    }
    // Each entry takes at least this many bytes: counts the file cannot hold are refused
    // before anything is reserved.
    if (!fits(m_kv_count, 8 + 4 + 1, "metadata entries") ||
        !fits(m_tensor_count, 8 + 4 + 8 + 4 + 8, "tensor infos")) {
      return false;
    }
    if (m_out) {
      m_out->version = version;
      m_out->metadata.reserve(m_kv_count);
    }
    for (m_kv_done = 0; m_kv_done < m_kv_count; ++m_kv_done) {
      if (!read_kv()) {
        return false;
      }
    }
    if (m_out) {
      m_out->tensors.reserve(m_tensor_count);
    }
    m_tensors_start = m_pos;
    for (m_tensors_done = 0; m_tensors_done < m_tensor_count; ++m_tensors_done) {
      if (!read_tensor_info()) {
        return false;
      }
    }
    return true;
  }

  uint64_t pos() const { return m_pos; }
  bool is_short() const { return m_short; }
  uint64_t need() const { return m_need; }
  const std::string& error_text() const { return m_error; }
  uint64_t alignment() const { return m_alignment; }

 private:
  bool error(std::string text) {
    m_error = std::move(text);
    return false;
  }

  // The bytes end before `n` more: records how many to fetch, extrapolating the array being
  // read (by its bytes per element so far) and the entries still to come.
  bool short_of(uint64_t n) {
    m_short = true;
    uint64_t need = m_pos + n;
    if (m_in_array && m_array_done > 0) {
      const uint64_t per = (m_pos - m_array_start) / m_array_done + 1;
      need = std::max(need, m_array_start + per * m_array_length + per * m_array_length / 4);
    }
    const uint64_t kv_left = m_kv_count > m_kv_done ? m_kv_count - m_kv_done : 0;
    const uint64_t tensors_left =
        m_tensor_count > m_tensors_done ? m_tensor_count - m_tensors_done : 0;
    // In the tensor infos, the ones read so far say how long the rest are (names grow longer
    // with the layer number and the expert suffixes), with a quarter more for safety.
    uint64_t per_tensor = k_tensor_info_estimate;
    if (m_tensors_start != 0 && m_tensors_done > 0) {
      const uint64_t seen = (m_pos - m_tensors_start) / m_tensors_done;
      per_tensor = std::max(per_tensor, seen + seen / 4);
    }
    need =
        checked_add(need, kv_left * k_kv_estimate + tensors_left * per_tensor).value_or(UINT64_MAX);
    need = std::min(need, std::min(m_file_size, k_max_gguf_header_bytes));
    m_need = std::max(need, static_cast<uint64_t>(m_bytes.size()) + 1);
    return false;
  }

  // Whether `count` items of at least `each` bytes fit in what is left of the file.
  bool fits(uint64_t count, uint64_t each, std::string_view what) {
    const uint64_t left = m_file_size > m_pos ? m_file_size - m_pos : 0;
    auto bytes = checked_mul(count, each);
    if (!bytes || *bytes > left) {
      return error(
          fmt::format("{} {} cannot fit in the {} bytes left in the file", count, what, left));
    }
    return true;
  }

  bool take(uint64_t n, const char*& p) {
    if (m_pos + n > m_file_size) {
      return error(fmt::format("header truncated: needs {} bytes at offset {}, the file has {}", n,
                               m_pos, m_file_size));
    }
    if (m_pos + n > k_max_gguf_header_bytes) {
      return error(fmt::format("header is over the limit of {} bytes", k_max_gguf_header_bytes));
    }
    if (m_pos + n > m_bytes.size()) {
      return short_of(n);
    }
    p = m_bytes.data() + m_pos;
    m_pos += n;
    return true;
  }

  template <class T>
  bool read(T& v) {
    const char* p = nullptr;
    if (!take(sizeof(T), p)) {
      return false;
    }
    std::memcpy(&v, p, sizeof(T));  // GGUF is little-endian, as every host we build for
    return true;
  }

  bool read_string(std::string* out, uint64_t max, std::string_view what) {
    uint64_t n = 0;
    if (!read(n)) {
      return false;
    }
    if (n > max) {
      return error(fmt::format("{} length {} is over the limit of {}", what, n, max));
    }
    const char* p = nullptr;
    if (!take(n, p)) {
      return false;
    }
    if (out) {
      out->assign(p, n);
    }
    return true;
  }

  bool read_type(GgufValueType& t) {
    uint32_t raw = 0;
    if (!read(raw)) {
      return false;
    }
    if (raw > static_cast<uint32_t>(GgufValueType::f64)) {
      return error(fmt::format("metadata entry {} has unknown value type {}", m_kv_done, raw));
    }
    t = static_cast<GgufValueType>(raw);
    return true;
  }

  // One scalar of type `t`; kept in `v` when v is not null.
  bool read_scalar(GgufValueType t, GgufValue* v) {
    auto keep = [&](auto x) {
      if (v) {
        v->scalar = x;
      }
      return true;
    };
    switch (t) {
      case GgufValueType::u8: {
        uint8_t x = 0;
        return read(x) && keep(uint64_t{x});
      }
      case GgufValueType::i8: {
        int8_t x = 0;
        return read(x) && keep(int64_t{x});
      }
      case GgufValueType::u16: {
        uint16_t x = 0;
        return read(x) && keep(uint64_t{x});
      }
      case GgufValueType::i16: {
        int16_t x = 0;
        return read(x) && keep(int64_t{x});
      }
      case GgufValueType::u32: {
        uint32_t x = 0;
        return read(x) && keep(uint64_t{x});
      }
      case GgufValueType::i32: {
        int32_t x = 0;
        return read(x) && keep(int64_t{x});
      }
      case GgufValueType::u64: {
        uint64_t x = 0;
        return read(x) && keep(x);
      }
      case GgufValueType::i64: {
        int64_t x = 0;
        return read(x) && keep(x);
      }
      case GgufValueType::f32: {
        float x = 0;
        return read(x) && keep(double{x});
      }
      case GgufValueType::f64: {
        double x = 0;
        return read(x) && keep(x);
      }
      case GgufValueType::boolean: {
        uint8_t x = 0;
        if (!read(x)) {
          return false;
        }
        if (x > 1) {
          return error(fmt::format("metadata entry {} holds boolean value {}", m_kv_done, x));
        }
        return keep(x == 1);
      }
      case GgufValueType::string: {
        std::string s;
        return read_string(v ? &s : nullptr, k_max_gguf_string_bytes, "string") &&
               keep(as_utf8(std::move(s)));
      }
      case GgufValueType::array:
        return error("arrays of arrays are not supported");
    }
    return false;
  }

  bool read_kv() {
    std::string key;
    if (!read_string(&key, k_max_gguf_string_bytes, "key")) {
      return false;
    }
    if (key.empty()) {
      return error(fmt::format("metadata entry {} has an empty key", m_kv_done));
    }
    if (!valid_utf8(key)) {
      return error(fmt::format("metadata entry {} has a key that is not UTF-8", m_kv_done));
    }
    if (!m_keys.insert(key).second) {
      return error(fmt::format("metadata key '{}' appears twice", excerpt(key)));
    }
    GgufValue value;
    if (!read_type(value.type)) {
      return false;
    }
    if (value.type == GgufValueType::array) {
      if (!read_type(value.array_type) || !read(value.array_length)) {
        return false;
      }
      if (value.array_type == GgufValueType::array) {
        return error(
            fmt::format("'{}' is an array of arrays, which is not supported", excerpt(key)));
      }
      if (value.array_length > k_max_gguf_array_length) {
        return error(fmt::format("array '{}' has {} elements, over the limit of {}", excerpt(key),
                                 value.array_length, k_max_gguf_array_length));
      }
      if (!fits(value.array_length, min_element_bytes(value.array_type),
                fmt::format("elements of array '{}'", excerpt(key)))) {
        return false;
      }
      m_in_array = true;
      m_array_start = m_pos;
      m_array_length = value.array_length;
      for (m_array_done = 0; m_array_done < value.array_length; ++m_array_done) {
        if (!read_scalar(value.array_type, nullptr)) {
          return false;
        }
      }
      m_in_array = false;
    } else if (!read_scalar(value.type, m_out || key == "general.alignment" ? &value : nullptr)) {
      return false;
    }
    if (key == "general.alignment") {
      const uint64_t* a = std::get_if<uint64_t>(&value.scalar);
      if (value.type != GgufValueType::u32 || !a || *a == 0 || (*a & (*a - 1)) != 0) {
        return error("general.alignment must be a uint32 power of two");
      }
      m_alignment = *a;
    }
    if (m_out) {
      m_out->metadata.push_back({std::move(key), std::move(value)});
    }
    return true;
  }

  bool read_tensor_info() {
    std::string name;
    if (!read_string(&name, k_max_gguf_name_bytes, "tensor name")) {
      return false;
    }
    if (name.empty()) {
      return error(fmt::format("tensor info {} has an empty name", m_tensors_done));
    }
    if (!valid_utf8(name)) {
      return error(fmt::format("tensor info {} has a name that is not UTF-8", m_tensors_done));
    }
    uint32_t dims = 0;
    if (!read(dims)) {
      return false;
    }
    if (dims > k_max_gguf_dims) {
      return error(fmt::format("tensor '{}' has {} dimensions, over ggml's {}", excerpt(name), dims,
                               k_max_gguf_dims));
    }
    uint64_t ne[k_max_gguf_dims] = {1, 1, 1, 1};
    for (uint32_t d = 0; d < dims; ++d) {
      if (!read(ne[d])) {
        return false;
      }
      if (ne[d] > k_max_dim) {
        return error(fmt::format("tensor '{}' dimension {} is {}, over the limit of {}",
                                 excerpt(name), d, ne[d], k_max_dim));
      }
    }
    uint32_t type_id = 0;
    uint64_t offset = 0;
    if (!read(type_id) || !read(offset)) {
      return false;
    }
    if (!m_out) {
      return true;
    }
    const GgmlType* type = ggml_type(type_id);
    if (!type) {
      return error(fmt::format("tensor '{}' has unknown ggml type id {}", excerpt(name), type_id));
    }
    TensorInfo t;
    t.ggml_type = static_cast<uint8_t>(type_id);
    t.dtype = type->name == "F32"    ? Dtype::F32
              : type->name == "F16"  ? Dtype::F16
              : type->name == "BF16" ? Dtype::BF16
              : type->name == "F64"  ? Dtype::F64
              : type->name == "I8"   ? Dtype::I8
              : type->name == "I16"  ? Dtype::I16
              : type->name == "I32"  ? Dtype::I32
              : type->name == "I64"  ? Dtype::I64
                                     : Dtype::U8;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      auto e = checked_mul(elements, ne[d]);
      if (!e) {
        return error(fmt::format("tensor '{}' element count overflows", excerpt(name)));
      }
      elements = *e;
    }
    // ggml's ne[0] is the innermost dimension: reversed, the shape reads like safetensors'.
    for (uint32_t d = dims; d-- > 0;) {
      t.shape.push_back(ne[d]);
    }
    t.elements = elements;
    auto bytes = ggml_tensor_bytes(*type, ne[0], elements);
    if (!bytes) {
      return error(fmt::format("tensor '{}' row of {} is not a whole number of {} blocks of {}",
                               excerpt(name), ne[0], type->name, type->block_size));
    }
    if (offset % m_alignment != 0) {
      return error(fmt::format("tensor '{}' offset {} is not a multiple of the alignment {}",
                               excerpt(name), offset, m_alignment));
    }
    auto end = checked_add(offset, *bytes);
    if (!end || *end > k_max_file_data_bytes) {
      return error(fmt::format("tensor '{}' ends past the limit of {} bytes of data", excerpt(name),
                               k_max_file_data_bytes));
    }
    t.begin = offset;
    t.end = *end;
    t.name = m_out->names.add(name);
    m_out->tensors.push_back(t);
    return true;
  }

  std::string_view m_bytes;
  uint64_t m_file_size;
  GgufHeader* m_out;
  uint64_t m_pos = 0;
  uint32_t m_version = 0;
  uint64_t m_tensor_count = 0, m_kv_count = 0, m_kv_done = 0, m_tensors_done = 0;
  uint64_t m_tensors_start = 0;  // where the tensor infos begin, once the metadata is read
  uint64_t m_alignment = k_gguf_default_alignment;
  bool m_in_array = false;
  uint64_t m_array_start = 0, m_array_length = 0, m_array_done = 0;
  std::set<std::string, std::less<>> m_keys;
  bool m_short = false;
  uint64_t m_need = 0;
  std::string m_error;
};

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  constexpr std::string_view k_names[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                          "int32",  "float32", "bool",   "string", "array",
                                          "uint64", "int64",   "float64"};
  const auto i = static_cast<size_t>(type);
  return i < std::size(k_names) ? k_names[i] : "unknown";
}

const GgufValue* GgufHeader::find(std::string_view key) const {
  for (const GgufKv& kv : metadata) {
    if (kv.key == key) {
      return &kv.value;
    }
  }
  return nullptr;
}

std::optional<uint64_t> GgufHeader::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) {
    return std::nullopt;
  }
  if (const uint64_t* u = std::get_if<uint64_t>(&v->scalar)) {
    return *u;
  }
  if (const int64_t* i = std::get_if<int64_t>(&v->scalar); i && *i >= 0) {
    return static_cast<uint64_t>(*i);
  }
  return std::nullopt;
}

std::optional<double> GgufHeader::get_number(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) {
    return std::nullopt;
  }
  if (const double* d = std::get_if<double>(&v->scalar)) {
    return *d;
  }
  if (const uint64_t* u = std::get_if<uint64_t>(&v->scalar)) {
    return static_cast<double>(*u);
  }
  if (const int64_t* i = std::get_if<int64_t>(&v->scalar)) {
    return static_cast<double>(*i);
  }
  return std::nullopt;
}

std::optional<std::string> GgufHeader::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) {
    return std::nullopt;
  }
  if (const std::string* s = std::get_if<std::string>(&v->scalar)) {
    return *s;
  }
  return std::nullopt;
}

bool is_gguf(std::string_view first_bytes) {
  return first_bytes.size() >= 4 && first_bytes.substr(0, 4) == "GGUF";
}

Result<uint64_t> gguf_header_span(std::string_view what, std::string_view prefix,
                                  uint64_t file_size) {
  Walker walker(prefix, file_size, nullptr);
  if (walker.run()) {
    return walker.pos();
  }
  if (walker.is_short()) {
    return walker.need();
  }
  return bad_input(std::string(what), walker.error_text());
}

Result<GgufHeader> parse_gguf_header(std::string_view file, std::string_view bytes,
                                     uint64_t file_size) {
  GgufHeader h;
  Walker walker(bytes, file_size, &h);
  if (!walker.run()) {
    if (walker.is_short()) {
      return bad_input(std::string(file),
                       fmt::format("header needs more than the {} bytes read", bytes.size()));
    }
    return bad_input(std::string(file), walker.error_text());
  }
  h.alignment = walker.alignment();
  h.header_bytes = walker.pos();
  auto data_offset = checked_add(h.header_bytes, h.alignment - 1);
  if (!data_offset) {
    return bad_input(std::string(file), "data offset overflows");
  }
  h.data_offset = *data_offset / h.alignment * h.alignment;
  // Tensors may be stored in any order but must not overlap.
  std::vector<uint32_t> order(h.tensors.size());
  std::iota(order.begin(), order.end(), 0U);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return h.tensors[a].begin < h.tensors[b].begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    const TensorInfo& prev = h.tensors[order[i - 1]];
    const TensorInfo& cur = h.tensors[order[i]];
    if (cur.begin < prev.end) {
      return bad_input(
          std::string(file),
          fmt::format("tensor '{}' (offset {}) overlaps tensor '{}' (bytes {}..{})",
                      excerpt(cur.name), cur.begin, excerpt(prev.name), prev.begin, prev.end));
    }
  }
  std::set<std::string_view> names;
  for (const TensorInfo& t : h.tensors) {
    h.data_bytes = std::max(h.data_bytes, t.end);
    if (!names.insert(t.name).second) {
      return bad_input(std::string(file),
                       fmt::format("tensor '{}' appears twice", excerpt(t.name)));
    }
  }
  const uint64_t end = h.data_offset + h.data_bytes;  // both capped far below overflow
  if (file_size < end) {
    h.findings.push_back(
        {Severity::info, std::string(file), "header-only file: the data region is absent"});
  }
  return h;
}

std::string_view tensor_dtype_name(const TensorInfo& tensor) {
  if (tensor.ggml_type != k_no_ggml_type) {
    if (const GgmlType* t = ggml_type(tensor.ggml_type)) {
      return t->name;
    }
  }
  return dtype_name(tensor.dtype);
}

std::optional<GgufSplitName> gguf_split_name(std::string_view file_name) {
  // llama.cpp's llama_split_path: "%s-%05d-of-%05d.gguf", parts counted from 1.
  static const std::regex k_split(R"(^(.*)-(\d{5})-of-(\d{5})\.gguf$)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(file_name.begin(), file_name.end(), m, k_split)) {
    return std::nullopt;
  }
  GgufSplitName out;
  out.stem = m[1].str();
  out.part = static_cast<uint32_t>(std::stoul(m[2].str()));
  out.count = static_cast<uint32_t>(std::stoul(m[3].str()));
  if (out.part == 0 || out.count == 0 || out.part > out.count) {
    return std::nullopt;
  }
  return out;
}

}  // namespace mbuild
