// Untrusted JSON text (config.json, contracts, catalogs) read with nlohmann::json, with the
// guards every such reader needs: a nesting cap (the library copies and prints values
// recursively, so deep nesting would overflow the stack) and its exceptions turned into one
// bad-input line. Size caps stay with each reader: each file kind has its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mbuild/util/error.hpp"

namespace mbuild {

// A JSON value as a count: a non-negative integer, or nullopt (floats, negatives, anything
// else). For nlohmann::json and ordered_json.
template <class Json>
std::optional<uint64_t> json_count(const Json& v) {
  if (v.is_number_unsigned()) {
    return v.template get<uint64_t>();
  }
  if (v.is_number_integer()) {
    const auto i = v.template get<int64_t>();
    return i >= 0 ? std::optional<uint64_t>(static_cast<uint64_t>(i)) : std::nullopt;
  }
  return std::nullopt;
}

// JSON nested deeper than this is refused before parsing: simdjson's default limit, which the
// header and index readers have.
inline constexpr size_t k_max_json_depth = 1024;

// The deepest nesting of arrays and objects in JSON text (brackets inside strings skipped).
size_t json_nesting_depth(std::string_view text);

// A JSON library exception's message without its "[json.exception.out_of_range.406] " tag.
std::string_view json_exception_text(const std::exception& e);

// Parses `text` as a JSON object (nlohmann::json or ordered_json). Fails (bad_input, naming
// `where`) when it nests too deep, is not JSON, holds a number past a double's range ("1e400"
// throws out_of_range, not parse_error) or is not an object.
template <class Json>
Result<Json> parse_json_object(const std::string& where, std::string_view text) {
  if (json_nesting_depth(text) > k_max_json_depth) {
    return bad_input(where, fmt::format("JSON nested more than {} levels deep", k_max_json_depth));
  }
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const typename Json::parse_error& e) {
    return bad_input(where, fmt::format("not valid JSON (byte {})", e.byte));
  } catch (const typename Json::out_of_range& e) {
    return bad_input(where, fmt::format("not valid JSON ({})", json_exception_text(e)));
  }
  if (!doc.is_object()) {
    return bad_input(where, "not a JSON object");
  }
  return doc;
}

}  // namespace mbuild
