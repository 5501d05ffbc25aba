#include "mbuild/arch/catalog.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mbuild/util/json_guard.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view k_builtin = R"({
  "schema_version": 1,
  "classes": [
    {"class": "EmbeddingLayer", "params": ["vocab_size", "hidden_size", "layer_idx"]},
    {"class": "AttentionLayer", "params": ["hidden_size", "num_heads", "head_dim", "layer_idx"]},
    {"class": "GroupedQueryAttentionLayer",
     "params": ["hidden_size", "num_heads", "num_kv_heads", "head_dim", "layer_idx"]},
    {"class": "SlidingWindowAttentionLayer",
     "params": ["hidden_size", "num_query_heads", "num_kv_heads", "head_dim", "sliding_window",
                "num_sinks", "has_bias", "layer_idx"]},
    {"class": "MLPLayer", "params": ["hidden_size", "intermediate_size", "num_projections",
                                     "layer_idx"],
     "defaults": {"num_projections": 2}},
    {"class": "GatedMLPLayer", "params": ["hidden_size", "intermediate_size", "layer_idx"]},
    {"class": "MoELayer",
     "params": ["hidden_size", "intermediate_size", "num_experts", "top_k", "num_shared_experts",
                "num_projections", "has_bias", "layer_idx"]},
    {"class": "NormLayer", "params": ["hidden_size", "has_bias", "layer_idx"]}
  ]
})";

}  // namespace

const CatalogClass* Catalog::find(std::string_view name) const {
  for (const CatalogClass& c : classes) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const Catalog& builtin_catalog() {
  static const Catalog k_catalog = [] {
    auto c = parse_catalog("built-in catalog", k_builtin);
    return c ? *c : Catalog{};
  }();
  return k_catalog;
}

Result<Catalog> parse_catalog(std::string_view file, std::string_view text) {
  const std::string where(file);
  if (text.size() > k_max_catalog_bytes) {
    return bad_input(
        where, fmt::format("{} bytes, over the {} byte limit", text.size(), k_max_catalog_bytes));
  }
  auto parsed = parse_json_object<ordered_json>(where, text);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  const ordered_json doc = std::move(*parsed);
  auto classes = doc.find("classes");
  if (classes == doc.end() || !classes->is_array()) {
    return bad_input(where, "'classes' must be an array of {\"class\", \"params\"} objects");
  }
  Catalog catalog;
  catalog.source = where;
  for (size_t i = 0; i < classes->size(); ++i) {
    const ordered_json& c = (*classes)[i];
    const std::string path = fmt::format("classes[{}]", i);
    if (!c.is_object() || !c.contains("class") || !c["class"].is_string()) {
      return bad_input(where, fmt::format("{}.class must be a string", path));
    }
    CatalogClass cc;
    cc.name = c["class"].get<std::string>();
    if (cc.name.empty()) {
      return bad_input(where, fmt::format("{}.class is empty", path));
    }
    if (catalog.find(cc.name)) {
      return bad_input(where, fmt::format("{}: class '{}' listed twice", path, cc.name));
    }
    if (auto p = c.find("params"); p != c.end()) {
      if (!p->is_array()) {
        return bad_input(where, fmt::format("{}.params must be an array of strings", path));
      }
      for (const ordered_json& name : *p) {
        if (!name.is_string()) {
          return bad_input(where, fmt::format("{}.params must be an array of strings", path));
        }
        cc.params.push_back(name.get<std::string>());
      }
    }
    if (auto d = c.find("defaults"); d != c.end()) {
      if (!d->is_object()) {
        return bad_input(where, fmt::format("{}.defaults must be an object", path));
      }
      cc.defaults = *d;
    }
    catalog.classes.push_back(std::move(cc));
  }
  return catalog;
}

Result<Catalog> load_catalog(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorKind::not_found, path.string(), "no such catalog file");
  }
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size > k_max_catalog_bytes) {
    return bad_input(path.string(),
                     fmt::format("{} bytes, over the {} byte limit", size, k_max_catalog_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return fail(ErrorKind::io, path.string(), "cannot read the catalog file");
  }
  return parse_catalog(path.string(), text.str());
}

ordered_json catalog_json(const Catalog& catalog) {
  ordered_json doc;
  doc["schema_version"] = 1;
  doc["classes"] = ordered_json::array();
  for (const CatalogClass& c : catalog.classes) {
    ordered_json o;
    o["class"] = c.name;
    o["params"] = c.params;
    if (!c.defaults.empty()) {
      o["defaults"] = c.defaults;
    }
    doc["classes"].push_back(std::move(o));
  }
  return doc;
}

}  // namespace mbuild
