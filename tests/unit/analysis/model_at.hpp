// Loading a test model from a folder, whole or as its config.json alone (as a repo without
// weights gives it), config.json optionally edited first: for the family and layer-model tests.
#pragma once

#include <filesystem>
#include <utility>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mbuild/model/model.hpp"
#include "mbuild/source/local_source.hpp"

namespace mbuild::test {

inline Snapshot snapshot_at(const std::filesystem::path& folder) {
  LocalFolderSource source(folder);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  return std::move(*snapshot);
}

// The folder's model, config.json edited by `edit` first.
template <typename Edit>
Model model_at(const std::filesystem::path& folder, Edit edit) {
  Snapshot snap = snapshot_at(folder);
  REQUIRE(snap.config_json);
  nlohmann::json config = nlohmann::json::parse(*snap.config_json);
  edit(config);
  snap.config_json = config.dump();
  auto model = build_model(std::move(snap));
  REQUIRE(model);
  return std::move(*model);
}

inline Model model_at(const std::filesystem::path& folder) {
  auto model = build_model(snapshot_at(folder));
  REQUIRE(model);
  return std::move(*model);
}

// config.json alone, edited by `edit` first: no tensors.
template <typename Edit>
Model config_only_at(const std::filesystem::path& folder, Edit edit) {
  Snapshot snap = snapshot_at(folder);
  REQUIRE(snap.config_json);
  nlohmann::json config = nlohmann::json::parse(*snap.config_json);
  edit(config);
  auto parsed = parse_model_config("config.json", config.dump());
  REQUIRE(parsed);
  Model model;
  model.config = std::move(*parsed);
  return model;
}

inline Model config_only_at(const std::filesystem::path& folder) {
  return config_only_at(folder, [](nlohmann::json&) {});
}

}  // namespace mbuild::test
