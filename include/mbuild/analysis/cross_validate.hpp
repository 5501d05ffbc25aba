// A contract's architecture fields against the live HF config.json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mbuild/arch/contract.hpp"
#include "mbuild/model/model_config.hpp"

namespace mbuild {

enum class FieldStatus { match, approximate, mismatch, info };
std::string_view field_status_name(FieldStatus s);

struct CrossValidationEntry {
  std::string field;  // the contract's name for it ("num_kv_heads", "rope_theta", ...)
  std::string contract;
  std::string hf;
  FieldStatus status = FieldStatus::match;
};

struct CrossValidation {
  std::vector<CrossValidationEntry> entries;
  std::vector<std::string> contract_only;  // "field=value" the contract states, config.json not
  std::vector<std::string> hf_only;        // "field=value" config.json states, the contract not
  size_t count(FieldStatus s) const;
};

// Compares every field both sides state. Counts must be equal; rope_theta within 1 is a match,
// within 1 % approximate; norm eps equal within 1e-9 relative; model_type is info. Fields only one
// side states go to contract_only / hf_only (config.json fields that change the estimate only).
CrossValidation cross_validate(const Contract& contract, const ModelConfig& config);

}  // namespace mbuild
