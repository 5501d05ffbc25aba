// The layer catalog: the layer classes the performance estimator supports, with their
// constructor parameters (DESIGN.md "Layer catalog").
//
// File shape (`emit-config --catalog FILE`; the built-in default has the same shape):
//   { "schema_version": 1,
//     "classes": [
//       { "class": "MLPLayer",
//         "params": ["hidden_size", "intermediate_size", "num_projections", "layer_idx"],
//         "defaults": { "num_projections": 2 } },
//       ... ] }
// "params" lists the constructor parameters in order; "defaults" (optional) gives the values of
// those that have one. A file replaces the built-in catalog entirely.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/util/error.hpp"

namespace mbuild {

struct CatalogClass {
  std::string name;
  std::vector<std::string> params;  // constructor parameters, in order
  nlohmann::ordered_json defaults = nlohmann::ordered_json::object();
};

struct Catalog {
  std::vector<CatalogClass> classes;
  std::string source = "built-in";  // "built-in" or the file it was read from

  // The class named `name`, or nullptr when the estimator cannot model it.
  const CatalogClass* find(std::string_view name) const;
  bool supports(std::string_view name) const { return find(name) != nullptr; }
};

// The estimator's eight classes: EmbeddingLayer, AttentionLayer, GroupedQueryAttentionLayer,
// SlidingWindowAttentionLayer, MLPLayer, GatedMLPLayer, MoELayer, NormLayer.
const Catalog& builtin_catalog();

// The largest catalog file read (the built-in one is ~2 KB).
inline constexpr uint64_t k_max_catalog_bytes = 16'000'000;

// Parses a catalog document. Fails (bad_input, naming `file` and the JSON path) when it is not
// JSON or does not have the shape above.
Result<Catalog> parse_catalog(std::string_view file, std::string_view text);

// Reads and parses a catalog file (not_found when it does not exist).
Result<Catalog> load_catalog(const std::filesystem::path& path);

// The catalog as a document in the file shape (the built-in one round-trips).
nlohmann::ordered_json catalog_json(const Catalog& catalog);

}  // namespace mbuild
