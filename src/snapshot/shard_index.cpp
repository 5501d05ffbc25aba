#include "mbuild/snapshot/shard_index.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include <fmt/format.h>
#include <simdjson.h>

#include "util/plain_json.hpp"

namespace mbuild {
namespace {

namespace dom = simdjson::dom;

// metadata values are numbers in most indexes and numeric strings in some.
std::optional<uint64_t> read_count(dom::element value) {
  uint64_t n = 0;
  if (!value.get_uint64().get(n)) {
    return n;
  }
  double d = 0;
  if (!value.get_double().get(d)) {
    if (d >= 0 && d < 1.8e19) {
      return static_cast<uint64_t>(d);
    }
    return std::nullopt;
  }
  std::string_view s;
  if (!value.get_string().get(s)) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && ptr == s.data() + s.size()) {
      return n;
    }
  }
  return std::nullopt;
}

// metadata's counts as read_count reads them, for the plain forms: an integer or a string.
bool read_plain_count(PlainJsonReader& r, std::optional<uint64_t>& out) {
  uint64_t n = 0;
  if (r.read_u64(n)) {
    out = n;
    return true;
  }
  std::string_view s;
  if (!r.read_string(s)) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  out = ec == std::errc() && ptr == s.data() + s.size() ? std::optional<uint64_t>(n) : std::nullopt;
  return true;
}

// Reads an index in the plain form writers produce (PlainJsonReader's subset; "metadata" with
// integer or string values and "weight_map", each once, nothing else) into `index`. False for
// anything else, including every error: parse_shard_index then starts over with simdjson,
// whose results and messages are the reference.
bool read_plain_index(std::string_view bytes, ShardIndex& index) {
  PlainJsonReader r(bytes);
  bool has_metadata = false, has_map = false;
  if (!r.consume('{')) {
    return false;
  }
  std::unordered_map<std::string_view, uint32_t> shard_ids;
  std::string_view last_shard;  // entries come grouped by shard more often than not
  uint32_t last_id = 0;
  do {
    std::string_view key;
    if (!r.read_string(key) || !r.consume(':') || !r.consume('{')) {
      return false;
    }
    if (key == "metadata" && !has_metadata) {
      has_metadata = true;
      if (r.consume('}')) {
        continue;
      }
      do {
        std::string_view name;
        std::optional<uint64_t> ignored;
        if (!r.read_string(name) || !r.consume(':') ||
            !read_plain_count(r, name == "total_size"         ? index.total_size
                                 : name == "total_parameters" ? index.total_parameters
                                                              : ignored)) {
          return false;
        }
      } while (r.consume(','));
    } else if (key == "weight_map" && !has_map) {
      has_map = true;
      if (r.consume('}')) {
        continue;
      }
      // An upper bound, never reallocated; pages never written cost nothing.
      index.weight_map.reserve(bytes.size() / 8);
      do {
        std::string_view name, shard;
        if (!r.read_string(name) || !r.consume(':') || !r.read_string(shard)) {
          return false;
        }
        if (shard != last_shard || last_shard.empty()) {
          auto it = shard_ids.find(shard);
          if (it == shard_ids.end()) {
            if (!check_shard_name(index.name, shard) || index.shards.size() == k_max_shards) {
              return false;
            }
            it = shard_ids.emplace(shard, static_cast<uint32_t>(index.shards.size())).first;
            index.shards.emplace_back(shard);
          }
          last_shard = shard;
          last_id = it->second;
        }
        // The name is viewed in place: the caller keeps `bytes` in index.names.
        index.weight_map.push_back({name.data(), static_cast<uint32_t>(name.size()), last_id});
      } while (r.consume(','));
    } else {
      return false;
    }
    if (!r.consume('}')) {
      return false;
    }
  } while (r.consume(','));
  return r.consume('}') && r.at_end() && !index.weight_map.empty();
}

// parse_shard_index; `try_plain` false skips the plain-JSON fast path (the reference reader).
// With the fast path, names may view into `buffer`, which the index then keeps.
Result<ShardIndex> parse_index(std::string_view file, std::shared_ptr<const ByteBuffer> buffer,
                               bool try_plain);

}  // namespace

Result<void> check_shard_name(std::string_view file, std::string_view shard) {
  auto reject = [&](std::string_view why) {
    return bad_input(std::string(file), fmt::format("shard name '{}' {}", excerpt(shard), why));
  };
  if (shard.empty()) {
    return reject("is empty");
  }
  if (shard.front() == '/' || shard.front() == '\\') {
    return reject("is an absolute path");
  }
  if (shard.find("://") != std::string_view::npos) {
    return reject("is a URL");
  }
  if (std::any_of(shard.begin(), shard.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return c == '\\' || u < 0x20 || u == 0x7f;
      })) {
    return reject("has a forbidden character (a backslash or a control character)");
  }
  size_t start = 0;
  while (start <= shard.size()) {
    size_t slash = shard.find('/', start);
    std::string_view part = shard.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == ".." || part == "." || part.empty()) {
      return reject("leaves the model folder");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return {};
}

Result<ShardIndex> parse_shard_index(std::string_view file, std::string_view bytes) {
  return parse_shard_index(file, ByteBuffer::copy_of(bytes));
}

Result<ShardIndex> parse_shard_index(std::string_view file, ByteBuffer buffer) {
  return parse_index(file, std::make_shared<const ByteBuffer>(std::move(buffer)), true);
}

Result<ShardIndex> parse_shard_index_reference(std::string_view file, const ByteBuffer& buffer) {
  // simdjson's path copies every name, so the buffer needs no owner beyond this call.
  return parse_index(file, std::shared_ptr<const ByteBuffer>(std::shared_ptr<void>(), &buffer),
                     false);
}

namespace {

Result<ShardIndex> parse_index(std::string_view file, std::shared_ptr<const ByteBuffer> buffer,
                               bool try_plain) {
  const std::string where(file);
  const std::string_view bytes = buffer->view();
  if (bytes.size() > k_max_index_bytes) {
    return bad_input(where, fmt::format("index is {} bytes, over the {} byte limit", bytes.size(),
                                        k_max_index_bytes));
  }
  if (try_plain) {
    ShardIndex plain;
    plain.name = where;
    if (read_plain_index(bytes, plain)) {
      plain.names.keep(std::move(buffer));
      return plain;
    }
  }
  dom::parser parser;
  dom::element doc;
  if (auto err = parser.parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), false)
                     .get(doc)) {
    return bad_input(where, fmt::format("not valid JSON ({})", simdjson::error_message(err)));
  }
  dom::object root;
  if (doc.get_object().get(root)) {
    return bad_input(where, "not a JSON object");
  }
  ShardIndex index;
  index.name = where;
  bool has_map = false;
  std::unordered_map<std::string_view, uint32_t> shard_ids;
  for (dom::key_value_pair field : root) {
    if (field.key == "metadata") {
      dom::object meta;
      if (field.value.get_object().get(meta)) {
        continue;  // metadata is informative only
      }
      for (dom::key_value_pair entry : meta) {
        if (entry.key == "total_size") {
          index.total_size = read_count(entry.value);
        } else if (entry.key == "total_parameters") {
          index.total_parameters = read_count(entry.value);
        }
      }
    } else if (field.key == "weight_map") {
      dom::object map;
      if (field.value.get_object().get(map)) {
        return bad_input(where, "weight_map is not an object");
      }
      has_map = true;
      index.weight_map.reserve(map.size());
      for (dom::key_value_pair entry : map) {
        std::string_view shard;
        if (entry.value.get_string().get(shard)) {
          return bad_input(where,
                           fmt::format("weight_map['{}'] is not a string", excerpt(entry.key)));
        }
        auto it = shard_ids.find(shard);
        if (it == shard_ids.end()) {
          if (auto ok = check_shard_name(where, shard); !ok) {
            return tl::unexpected(ok.error());
          }
          if (index.shards.size() == k_max_shards) {
            return bad_input(where, fmt::format("weight_map names more than {} shards, the "
                                                "limit for one index",
                                                k_max_shards));
          }
          // The view points into the parser's string buffer, alive until the function returns.
          it = shard_ids.emplace(shard, static_cast<uint32_t>(index.shards.size())).first;
          index.shards.emplace_back(shard);
        }
        // Unescaped by the parser into its own buffer: copied.
        const std::string_view name = index.names.add(entry.key);
        index.weight_map.push_back({name.data(), static_cast<uint32_t>(name.size()), it->second});
      }
    }
  }
  if (!has_map) {
    return bad_input(where, "weight_map is missing");
  }
  if (index.weight_map.empty()) {
    return bad_input(where, "weight_map is empty");
  }
  return index;
}

}  // namespace

}  // namespace mbuild
