// A model against its family contract: which family and size variant it is, whether its tensors
// are the ones the contract's template names (with the shapes its shape template gives), whether
// it keeps the contract's constraints, and the contract's dims against config.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/analysis/cross_validate.hpp"
#include "mbuild/analysis/param_count.hpp"
#include "mbuild/arch/family_contract.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

// The most names a compliance list keeps (the totals are kept apart).
inline constexpr size_t k_max_listed_tensors = 200;

struct ShapeMismatch {
  std::string tensor;
  std::string role;
  std::string expression;  // the shape template
  std::vector<uint64_t> expected, found;
};

struct ConstraintCheck {
  std::string constraint;  // "attention_type", "has_bias", ...
  std::string contract;    // what the contract says
  std::string model;       // what the model shows
  bool pass = true;
  std::string evidence;
};

// A stated value the model contradicts (--size, or a contract's variant against config.json).
struct DimConflict {
  std::string field;
  std::string stated;
  std::string found;
  std::string source;  // "--size 8b", ...
};

struct FamilyReport {
  std::string family;       // empty: no contract matches
  std::string detected_by;  // "--family", "model_type", "architectures", "tensors"
  std::string size;         // empty: no size variant matches
  std::string size_by;      // "--size", "hidden_dim and num_layers"
  std::string contract_file;
  bool compliant = false;
  bool tensors_checked = false;  // false without weights: only config.json was compared
  uint64_t expected_tensors = 0;
  uint64_t found_tensors = 0;
  uint64_t missing_total = 0, unexpected_total = 0;
  std::vector<std::string> missing, unexpected;  // sorted, at most k_max_listed_tensors each
  std::vector<ShapeMismatch> shape_mismatches;
  uint64_t shapes_checked = 0;
  std::vector<ConstraintCheck> constraints;
  std::vector<DimConflict> conflicts;
  std::optional<CrossValidation> cross;
  std::vector<std::string> notes;  // what was not checked, and why
};

// Detects the family (`family` = "auto": model_type, then architectures, then the tensor
// template that matches best) and the size variant (`size` empty: the variant with config.json's
// hidden size and layer count), then checks compliance. Fails (usage) when `family` or `size`
// names nothing in the registry.
Result<FamilyReport> check_family(const Model& model, const ParamCount& params,
                                  const std::vector<FamilyContract>& registry,
                                  std::string_view family = "auto", std::string_view size = {});

// The family contract a model implies (emit-contract): family and architectures from
// config.json, one size variant with config.json's dims, constraints from what the tensors show,
// the tensor template from the tensor names (`{n}` for the layer index, `{e}` for the expert
// index, a role's layers named when not all layers hold it) and a shape template per role whose
// shape the dims explain.
FamilyContract derive_family_contract(const Model& model, const ParamCount& params);

// The variant's dims as a Contract, so the contract ↔ config.json cross-validation is the one
// `--against` uses (rope_theta within 1 % approximate, eps by value, counts exact).
Contract contract_from_family(const FamilyContract& family, const SizeVariant& variant);

}  // namespace mbuild
