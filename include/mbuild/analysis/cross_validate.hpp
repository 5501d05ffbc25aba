// A contract's architecture fields against the live HF config.json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mbuild/arch/contract.hpp"
#include "mbuild/model/model_config.hpp"

namespace mbuild {

// A row's status: compared (match, approximate, mismatch, info), or stated by one side only.
enum class FieldStatus { match, approximate, mismatch, info, contract_only, hf_only };
std::string_view field_status_name(FieldStatus s);

// Norm epsilons closer than this (absolute) are equal (DESIGN.md "Validation report").
inline constexpr double k_norm_eps_tolerance = 1e-12;
// A RoPE base this close (relative to config.json's) is approximate; closer than 1, a match.
inline constexpr double k_rope_theta_tolerance = 0.01;

struct CrossValidationEntry {
  std::string field;     // the contract's name for it ("num_kv_heads", "rope_theta", ...)
  std::string contract;  // empty for hf_only
  std::string hf;        // empty for contract_only
  FieldStatus status = FieldStatus::match;
  bool compared() const {
    return status != FieldStatus::contract_only && status != FieldStatus::hf_only;
  }
};

struct CrossValidation {
  std::vector<CrossValidationEntry> entries;  // compared rows first, then one-sided ones
  size_t count(FieldStatus s) const;
  size_t compared() const;  // rows both sides state
  // "field=value" for each row of status contract_only (or hf_only), in row order.
  std::vector<std::string> listed(FieldStatus s) const;
};

// Compares every field both sides state. Counts must be equal; rope_theta closer than 1 is a
// match, within 1 % approximate; norm eps equal when closer than 1e-12; model_type is info.
// Fields only one side states become contract_only / hf_only rows (config.json fields that
// change the estimate only).
CrossValidation cross_validate(const Contract& contract, const ModelConfig& config);

}  // namespace mbuild
