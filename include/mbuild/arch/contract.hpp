// Contracts: the model configs the performance estimator loads (DESIGN.md "Emitted config"),
// whether mbuild emitted them (any schema_version) or someone wrote them by hand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/arch/catalog.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild {

// The newest schema_version this build knows; older ones (and none: hand-written) load.
inline constexpr uint64_t k_contract_schema_version = 2;
inline constexpr uint64_t k_max_contract_bytes = 16'000'000;

struct ContractLayerType {
  std::string name;
  std::string layer_class;  // "class"
  uint64_t count = 0;
  std::optional<bool> supported;
  nlohmann::ordered_json specs;  // an object, kept whole
  std::optional<uint64_t> parameter_count;
};

struct Contract {
  std::string file;             // as given, for messages
  std::string file_stem;        // the name without folder and ".json"
  uint64_t schema_version = 0;  // 0: none stated (hand-written)
  std::string model_id, hf_model_id, revision, name, model_type;
  uint64_t hidden_size = 0, num_layers = 0, vocab_size = 0, total_params = 0;
  std::vector<ContractLayerType> layer_types;  // both lists of schema 2, in file order
  std::optional<bool> validated;
  nlohmann::ordered_json raw;  // the whole file: unknown fields are kept

  // An architecture field as the contract states it: the top level first, then its `config`
  // object (schema 2), then the specs of the first text-model layer type that names it
  // ("num_heads" also reads "num_query_heads").
  std::optional<nlohmann::ordered_json> field(std::string_view name) const;
};

// Parses a contract. Fails (bad_input, naming the file and the JSON path) when it is not a JSON
// object, a required field is missing (model_id, hidden_size, num_layers, vocab_size,
// total_params, layer_types and each entry's name, class, count, specs) or has the wrong type,
// or the architecture is impossible (heads not divisible by kv heads, top_k above num_experts).
Result<Contract> parse_contract(std::string_view file, std::string_view text);

// Reads and parses a contract file; fails (not_found) when it cannot be read.
Result<Contract> load_contract(const std::filesystem::path& path);

enum class ContractCheckStatus { pass, fail, info };

struct ContractCheck {
  std::string name;  // "accounting", "model_id", "classes", ...
  ContractCheckStatus status = ContractCheckStatus::pass;
  std::string detail;
};

// The self-consistency a well-formed contract can still lack: Σ count × parameter_count equal
// to total_params, every supported class known to the catalog, model_id equal to the file stem
// (when loaded from a file), schema_version known.
std::vector<ContractCheck> check_contract(const Contract& contract,
                                          const Catalog& catalog = builtin_catalog());

}  // namespace mbuild
