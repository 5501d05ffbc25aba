// Helpers for the layer-map, emit-config and gap-report tests: a corpus or hand-written model
// counted and mapped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/model/model.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

namespace mbuild::test {

struct Mapped {
  Model model;
  ParamCount params;
  LayerMap map;
};

// Every entry of a catalog class is exact under the class's own formula: what the estimator
// computes from the specs is what the tensors hold. Checked on every model a test maps.
inline void check_exact(const LayerMap& map) {
  for (const LayerEntry& e : map.entries) {
    if (const CatalogClass* cls = builtin_catalog().find(e.layer_class)) {
      INFO(e.name << " " << e.layer_class << " " << e.specs.dump());
      CHECK(check_arguments(*cls, e.specs).empty());
      const auto formula = evaluate_param_count(*cls, e.specs);
      REQUIRE(formula);
      CHECK(static_cast<uint64_t>(*formula) == e.parameter_count);
    }
  }
}

inline Mapped mapped(Model model) {
  Mapped m;
  m.model = std::move(model);
  m.params = count_params(m.model);
  m.map = map_layers(m.model, m.params);
  check_exact(m.map);
  return m;
}

inline Mapped corpus_model(const std::string& folder) {
  LocalFolderSource source(corpus_dir() / folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  return mapped(std::move(*built));
}

// A model from a config and one header-only model.safetensors holding `specs`.
inline Mapped model_of(std::string_view config, const std::vector<TensorSpec>& specs,
                       std::string id = "test/model") {
  Snapshot snap;
  snap.ref.id = std::move(id);
  snap.ref.source = "hub";
  snap.config_json = std::string(config);
  const std::string bytes = safetensors_bytes(header_json(specs));
  snap.files.push_back(WeightFile{"model.safetensors", bytes.size(), ByteBuffer::copy_of(bytes)});
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  return mapped(std::move(*model));
}

inline const LayerEntry& entry_named(const LayerMap& map, std::string_view name) {
  for (const LayerEntry& e : map.entries) {
    if (e.name == name) {
      return e;
    }
  }
  std::string names;
  for (const LayerEntry& e : map.entries) {
    names += e.name + " ";
  }
  FAIL("no entry named " << name << " among: " << names);
  return map.entries.front();
}

inline std::vector<const LayerEntry*> entries_of_class(const LayerMap& map,
                                                       std::string_view layer_class) {
  std::vector<const LayerEntry*> out;
  for (const LayerEntry& e : map.entries) {
    if (e.layer_class == layer_class) {
      out.push_back(&e);
    }
  }
  return out;
}

}  // namespace mbuild::test
