#include "mbuild/snapshot/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>
#include <simdjson.h>

#include "util/checked.hpp"
#include "util/plain_json.hpp"

namespace mbuild {
namespace {

namespace dom = simdjson::dom;

uint64_t read_le64(std::string_view bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  }
  return n;
}

std::string json_error(simdjson::error_code code) {
  return fmt::format("header is not valid JSON ({})", simdjson::error_message(code));
}

// Reads a JSON array of unsigned integers; fails on anything else. `too_long` is set when
// the array has more elements than `out` holds.
template <class Dims>
bool read_u64_array(dom::element value, Dims& out, bool& too_long) {
  dom::array array;
  if (value.get_array().get(array)) {
    return false;
  }
  for (dom::element element : array) {
    uint64_t n = 0;
    if (element.get_uint64().get(n)) {
      return false;
    }
    if (!out.push_back(n)) {
      too_long = true;
    }
  }
  return true;
}

// Two offsets at most, inline.
struct Offsets {
  std::array<uint64_t, 2> v{};
  size_t n = 0;
  bool push_back(uint64_t d) {
    if (n == 2) {
      return false;
    }
    v[n++] = d;
    return true;
  }
};

struct TensorFields {
  std::string_view dtype;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  Shape shape;
  Offsets offsets;
};

// A tensor's byte count in a header is at least this many JSON bytes
// ("":{"dtype":"U8","shape":[],"data_offsets":[0,0]},), so a header of N bytes holds at most
// N / 48 + 1 tensors: reserving that never reallocates, and pages never written cost nothing.
constexpr size_t k_min_tensor_json_bytes = 48;

// parse_safetensors_header; names of a plain header view into `buffer` when `keep` owns it.
// `try_plain` false skips the plain-JSON fast path (the reference reader).
Result<SafetensorsHeader> parse_header(std::string_view file, const ByteBuffer& buffer,
                                       uint64_t file_size, std::vector<TensorInfo> storage,
                                       const std::shared_ptr<const ByteBuffer>& keep,
                                       bool try_plain = true);

// Reads a shape's "[d0, d1, ...]" (after the '['), each dimension at most k_max_dim.
bool read_plain_dims(PlainJsonReader& r, Shape& shape) {
  if (r.consume(']')) {
    return true;
  }
  do {
    uint64_t d = 0;
    if (!r.read_u64(d) || d > k_max_dim || !shape.push_back(d)) {
      return false;
    }
  } while (r.consume(','));
  return r.consume(']');
}

// A tensor's fields in the exact bytes writers produce:
// {"dtype":"BF16","shape":[2048,512],"data_offsets":[0,2097152]}
bool read_canonical_fields(PlainJsonReader& r, TensorInfo& t, std::string_view& dtype) {
  return r.skip("{\"dtype\":") && r.read_string(dtype) && r.skip(",\"shape\":[") &&
         read_plain_dims(r, t.shape) && r.skip(",\"data_offsets\":[") && r.read_u64(t.begin) &&
         r.skip(",") && r.read_u64(t.end) && r.skip("]}");
}

// A tensor's fields in any order and spacing, each exactly once and no others.
bool read_any_fields(PlainJsonReader& r, TensorInfo& t, std::string_view& dtype) {
  if (!r.consume('{')) {
    return false;
  }
  bool has_dtype = false, has_shape = false, has_offsets = false;
  do {
    std::string_view field;
    if (!r.read_string(field) || !r.consume(':')) {
      return false;
    }
    if (field == "dtype" && !has_dtype) {
      if (!r.read_string(dtype)) {
        return false;
      }
      has_dtype = true;
    } else if (field == "shape" && !has_shape) {
      if (!r.consume('[') || !read_plain_dims(r, t.shape)) {
        return false;
      }
      has_shape = true;
    } else if (field == "data_offsets" && !has_offsets) {
      if (!r.consume('[') || !r.read_u64(t.begin) || !r.consume(',') || !r.read_u64(t.end) ||
          !r.consume(']')) {
        return false;
      }
      has_offsets = true;
    } else {
      return false;
    }
  } while (r.consume(','));
  return r.consume('}') && has_dtype && has_shape && has_offsets;
}

// Reads a header written the way every writer writes it (PlainJsonReader's subset: no escapes,
// no non-ASCII names, only the three tensor fields, each once) straight into `header`. False for
// anything else, including every error: the caller then runs read_header_json, whose messages
// and results are the reference; for plain headers both produce the same tensors.
bool read_plain_header(std::string_view json, bool view_names, SafetensorsHeader& header) {
  PlainJsonReader r(json);
  if (!r.consume('{')) {
    return false;
  }
  if (r.consume('}')) {
    return r.at_end();
  }
  header.tensors.reserve(max_tensors_in_header(json.size()));
  std::string_view last_dtype_text;  // consecutive tensors nearly always share a dtype
  Dtype last_dtype = Dtype::F32;
  do {
    std::string_view key;
    if (!r.read_string(key) || !r.consume(':')) {
      return false;
    }
    if (key == "__metadata__") {
      if (!r.consume('{')) {
        return false;
      }
      if (r.consume('}')) {
        continue;
      }
      do {
        std::string_view name, value;
        if (!r.read_string(name) || !r.consume(':') || !r.read_string(value)) {
          return false;
        }
        header.metadata.emplace_back(std::string(name), std::string(value));
      } while (r.consume(','));
      if (!r.consume('}')) {
        return false;
      }
      continue;
    }
    if (header.tensors.size() == k_max_tensors_per_file) {
      return false;
    }
    // Written in place: on any failure the caller discards the whole table.
    TensorInfo& t = header.tensors.emplace_back();
    std::string_view dtype;
    const char* const fields = r.position();
    if (!read_canonical_fields(r, t, dtype)) {
      r.rewind(fields);
      t = TensorInfo();
      if (!read_any_fields(r, t, dtype)) {
        return false;
      }
    }
    if (last_dtype_text.empty() || dtype != last_dtype_text) {
      auto parsed = parse_dtype(dtype);
      if (!parsed) {
        return false;
      }
      last_dtype_text = dtype;
      last_dtype = *parsed;
    }
    t.dtype = last_dtype;
    for (uint64_t d : t.shape) {
      auto product = checked_mul(t.elements, d);
      if (!product) {
        return false;
      }
      t.elements = *product;
    }
    t.name = view_names ? key : header.names.add(key);
  } while (r.consume(','));
  return r.consume('}') && r.at_end();
}

// Reads any header with simdjson: the reference reader, whose errors are the ones reported.
// `padded` says whether the bytes after `json` are the buffer's padding.
Result<void> read_header_json(const std::string& where, std::string_view json, bool padded,
                              SafetensorsHeader& header) {
  // The spec allows space padding at the end; a BOM or NUL bytes are not JSON.
  if (json.size() >= 3 && std::memcmp(json.data(), "\xEF\xBB\xBF", 3) == 0) {
    return bad_input(where, "header starts with a byte-order mark, not '{'");
  }
  if (json.find('\0') != std::string_view::npos) {
    return bad_input(where, "header contains NUL bytes");
  }

  // The DOM parser dispatches to the best kernel at run time (On-Demand would be fixed at
  // compile time to the portable fallback without -march flags).
  // The buffer's padding follows the header's last byte only when the header fills it.
  std::optional<simdjson::padded_string> copy;
  if (!padded) {
    copy.emplace(json);
  }
  thread_local dom::parser parser;
  dom::element doc;
  auto parsed =
      copy ? parser.parse(*copy)
           : parser.parse(reinterpret_cast<const uint8_t*>(json.data()), json.size(), false);
  if (auto err = parsed.get(doc)) {
    return bad_input(where, json_error(err));
  }
  dom::object root;
  if (doc.get_object().get(root)) {
    return bad_input(where, "header is not a JSON object");
  }
  header.tensors.reserve(std::min<size_t>(root.size(), k_max_tensors_per_file));
  for (dom::key_value_pair field : root) {
    std::string_view key = field.key;
    dom::element value = field.value;
    if (key == "__metadata__") {
      dom::object meta;
      if (value.get_object().get(meta)) {
        return bad_input(where, "__metadata__ is not an object of strings");
      }
      for (dom::key_value_pair entry : meta) {
        std::string_view mvalue;
        if (entry.value.get_string().get(mvalue)) {
          return bad_input(where, "__metadata__ is not an object of strings");
        }
        header.metadata.emplace_back(std::string(entry.key), std::string(mvalue));
      }
      continue;
    }
    if (header.tensors.size() == k_max_tensors_per_file) {
      return bad_input(where, fmt::format("more than {} tensors, the limit for one file",
                                          k_max_tensors_per_file));
    }
    dom::object info;
    if (value.get_object().get(info)) {
      return bad_input(where, fmt::format("tensor '{}': entry is not an object", excerpt(key)));
    }
    TensorFields f;
    for (dom::key_value_pair member : info) {
      bool too_long = false;
      if (member.key == "dtype") {
        if (member.value.get_string().get(f.dtype)) {
          return bad_input(where, fmt::format("tensor '{}': dtype is not a string", excerpt(key)));
        }
        f.has_dtype = true;
      } else if (member.key == "shape") {
        if (!read_u64_array(member.value, f.shape, too_long)) {
          return bad_input(where,
                           fmt::format("tensor '{}': shape is not a list of non-negative integers",
                                       excerpt(key)));
        }
        if (too_long) {
          return bad_input(where,
                           fmt::format("tensor '{}': rank exceeds {}", excerpt(key), k_max_rank));
        }
        f.has_shape = true;
      } else if (member.key == "data_offsets") {
        if (!read_u64_array(member.value, f.offsets, too_long) || too_long || f.offsets.n != 2) {
          return bad_input(
              where, fmt::format("tensor '{}': data_offsets is not [BEGIN, END]", excerpt(key)));
        }
        f.has_offsets = true;
      }
      // Other fields are ignored, as the reference crate does.
    }
    if (!f.has_dtype || !f.has_shape || !f.has_offsets) {
      return bad_input(where, fmt::format("tensor '{}': missing {}", excerpt(key),
                                          !f.has_dtype   ? "dtype"
                                          : !f.has_shape ? "shape"
                                                         : "data_offsets"));
    }
    auto dtype = parse_dtype(f.dtype);
    if (!dtype) {
      return bad_input(
          where, fmt::format("tensor '{}': unknown dtype '{}'", excerpt(key), excerpt(f.dtype)));
    }
    TensorInfo t;
    t.name = header.names.add(key);
    t.dtype = *dtype;
    t.begin = f.offsets.v[0];
    t.end = f.offsets.v[1];
    t.shape = f.shape;
    for (uint64_t d : t.shape) {
      if (d > k_max_dim) {
        return bad_input(where,
                         fmt::format("tensor '{}': dimension {} exceeds 2^48", excerpt(key), d));
      }
      auto product = checked_mul(t.elements, d);
      if (!product) {
        return bad_input(where, fmt::format("tensor '{}': shape {} overflows", excerpt(key),
                                            format_shape(t.shape)));
      }
      t.elements = *product;
    }
    header.tensors.push_back(t);
  }

  return {};
}

}  // namespace

Result<uint64_t> safetensors_header_span(std::string_view file, std::string_view first_bytes,
                                         uint64_t file_size) {
  if (file_size < 8 || first_bytes.size() < 8) {
    return bad_input(std::string(file),
                     fmt::format("file is {} bytes, shorter than the 8-byte header length",
                                 std::min<uint64_t>(file_size, first_bytes.size())));
  }
  const uint64_t n = read_le64(first_bytes);
  if (n == 0) {
    return bad_input(std::string(file), "header length is 0");
  }
  if (n > k_max_header_bytes) {
    return bad_input(std::string(file), fmt::format("header length {} exceeds the {} byte limit", n,
                                                    k_max_header_bytes));
  }
  if (n > file_size - 8) {
    return bad_input(
        std::string(file),
        fmt::format("header length {} runs past the end of the file ({} bytes)", n, file_size));
  }
  return n + 8;
}

Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, std::string_view bytes,
                                                   uint64_t file_size) {
  return parse_safetensors_header(file, ByteBuffer::copy_of(bytes), file_size);
}

Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, const ByteBuffer& buffer,
                                                   uint64_t file_size) {
  return parse_safetensors_header(file, buffer, file_size, {});
}

size_t max_tensors_in_header(uint64_t bytes) {
  return static_cast<size_t>(
      std::min<uint64_t>(bytes / k_min_tensor_json_bytes + 1, k_max_tensors_per_file));
}

Result<SafetensorsHeader> parse_safetensors_header(std::string_view file, const ByteBuffer& buffer,
                                                   uint64_t file_size,
                                                   std::vector<TensorInfo> storage) {
  return parse_header(file, buffer, file_size, std::move(storage), nullptr);
}

Result<SafetensorsHeader> parse_safetensors_header(std::string_view file,
                                                   const std::shared_ptr<const ByteBuffer>& bytes,
                                                   uint64_t file_size,
                                                   std::vector<TensorInfo> storage) {
  return parse_header(file, *bytes, file_size, std::move(storage), bytes);
}

Result<SafetensorsHeader> parse_safetensors_header_reference(std::string_view file,
                                                             const ByteBuffer& buffer,
                                                             uint64_t file_size) {
  return parse_header(file, buffer, file_size, {}, nullptr, false);
}

namespace {

Result<SafetensorsHeader> parse_header(std::string_view file, const ByteBuffer& buffer,
                                       uint64_t file_size, std::vector<TensorInfo> storage,
                                       const std::shared_ptr<const ByteBuffer>& keep,
                                       bool try_plain) {
  const std::string where(file);
  const std::string_view bytes = buffer.view();
  auto span = safetensors_header_span(file, bytes, file_size);
  if (!span) {
    return tl::unexpected(span.error());
  }
  if (bytes.size() < *span) {
    return bad_input(where,
                     fmt::format("header needs {} bytes, only {} were read", *span, bytes.size()));
  }
  SafetensorsHeader header;
  storage.clear();
  header.tensors = std::move(storage);
  header.header_length = *span - 8;
  const std::string_view json = bytes.substr(8, header.header_length);
  // `keep` is the caller's reference, which owns `buffer` until we return: the fallback below
  // drops the store that shares it, and `json` must stay readable after that.
  const bool view_names = keep != nullptr;
  if (keep) {
    header.names.keep(keep);
  }
  if (!try_plain || !read_plain_header(json, view_names, header)) {
    header.tensors.clear();
    header.metadata.clear();
    header.names = NameStore();  // the reference reader copies every name
    if (auto read = read_header_json(where, json, bytes.size() == *span, header); !read) {
      return tl::unexpected(read.error());
    }
  }

  // Duplicate names are disallowed by the spec; a JSON reader would silently keep one.
  // Writers sort the names, and names in strictly increasing order cannot repeat.
  const bool names_ascending = std::adjacent_find(header.tensors.begin(), header.tensors.end(),
                                                  [](const TensorInfo& a, const TensorInfo& b) {
                                                    return a.name >= b.name;
                                                  }) == header.tensors.end();
  if (!names_ascending) {
    std::unordered_set<std::string_view> names;
    names.reserve(header.tensors.size());
    for (const TensorInfo& t : header.tensors) {
      if (!names.insert(t.name).second) {
        return bad_input(where, fmt::format("tensor '{}' appears twice", excerpt(t.name)));
      }
    }
  }

  // Offsets: sorted, the first at 0, each BEGIN the previous END, sizes matching shapes.
  // Writers lay tensors out in header order; only then is the sort skipped, as strictly
  // increasing (begin, end) pairs leave it nothing to do (and no ties to order).
  auto offset_less = [&](uint32_t a, uint32_t b) {
    const auto& ta = header.tensors[a];
    const auto& tb = header.tensors[b];
    return ta.begin != tb.begin ? ta.begin < tb.begin : ta.end < tb.end;
  };
  std::vector<uint32_t> order(header.tensors.size());
  std::iota(order.begin(), order.end(), 0U);
  if (std::adjacent_find(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return !offset_less(a, b);
      }) != order.end()) {
    std::sort(order.begin(), order.end(), offset_less);
  }
  uint64_t cursor = 0;
  for (uint32_t i : order) {
    const TensorInfo& t = header.tensors[i];
    if (t.end < t.begin) {
      return bad_input(where, fmt::format("tensor '{}': data_offsets end {} is before begin {}",
                                          excerpt(t.name), t.end, t.begin));
    }
    if (t.begin != cursor) {
      // The first tensor (in offset order) has no previous tensor to leave a gap after.
      const char* fault = t.begin < cursor     ? "overlap the previous tensor"
                          : i == order.front() ? "do not start at 0"
                                               : "leave a gap after the previous tensor";
      return bad_input(where,
                       fmt::format("tensor '{}': data_offsets [{}, {}] {} (expected begin {})",
                                   excerpt(t.name), t.begin, t.end, fault, cursor));
    }
    const unsigned bits = dtype_bits(t.dtype);
    auto total_bits = checked_mul(t.elements, bits);
    if (!total_bits) {
      return bad_input(where, fmt::format("tensor '{}': byte size overflows", excerpt(t.name)));
    }
    if (*total_bits % 8 != 0) {
      return bad_input(where, fmt::format("tensor '{}': {} elements of {} do not fill whole bytes",
                                          excerpt(t.name), t.elements, dtype_name(t.dtype)));
    }
    if (*total_bits / 8 != t.end - t.begin) {
      return bad_input(
          where, fmt::format("tensor '{}': shape {} of {} needs {} bytes, data_offsets span {}",
                             excerpt(t.name), format_shape(t.shape), dtype_name(t.dtype),
                             *total_bits / 8, t.end - t.begin));
    }
    cursor = t.end;
    // A header-only file is legal, so a crafted one could claim any size without this cap.
    if (cursor > k_max_file_data_bytes) {
      return bad_input(where, fmt::format("tensor '{}': tensor data reaches {} bytes, over the {} "
                                          "byte limit for one file",
                                          t.name, cursor, k_max_file_data_bytes));
    }
  }
  header.data_bytes = cursor;

  auto expected = checked_add(*span, header.data_bytes);
  if (!expected) {
    return bad_input(where, "data region size overflows");
  }
  const uint64_t expected_size = *expected;
  if (file_size == *span && header.data_bytes > 0) {
    header.findings.push_back(
        {Severity::info, where, "header-only file: the data region is absent"});
  } else if (file_size < expected_size) {
    header.findings.push_back(
        {Severity::warning, where,
         fmt::format("file is {} bytes, the header describes {}: the data region is truncated",
                     file_size, expected_size)});
  } else if (file_size > expected_size) {
    header.findings.push_back(
        {Severity::warning, where,
         fmt::format("file has {} bytes after the data region", file_size - expected_size)});
  }
  return header;
}

}  // namespace

std::string format_shape(const Shape& shape) {
  if (shape.size() == 1) {
    return fmt::format("({},)", shape[0]);
  }
  return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace mbuild
