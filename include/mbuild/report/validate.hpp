// mbuild validate's analysis: every check on one model, as a plain-data report.
// emit-config calls validate_model() and validation_summary() to fill `validated`,
// `validation_notes` and `validation_sources`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/compliance.hpp"
#include "mbuild/analysis/cross_validate.hpp"
#include "mbuild/analysis/explain.hpp"
#include "mbuild/analysis/memory.hpp"
#include "mbuild/analysis/variant.hpp"
#include "mbuild/arch/contract.hpp"
#include "mbuild/model/model.hpp"

namespace mbuild {

inline constexpr double k_default_tolerance = 0.01;  // relative, DESIGN.md "Commands"

struct ValidateOptions {
  std::optional<uint64_t> expected_params;
  double tolerance = k_default_tolerance;
  std::optional<uint64_t> expected_layers;
  std::optional<Contract> contract;  // --against
  std::string source_text;           // --source: where the expected values come from
  uint64_t context = 0;              // KV cache: 0 means max_position_embeddings
  uint64_t batch = 1;
  // Family contracts: checked when `families` is set (validate sets it; emit-config does not).
  const std::vector<FamilyContract>* families = nullptr;
  std::string family = "auto";  // --family NAME|auto
  std::string size;             // --size S
};

enum class CheckStatus { pass, fail, info };
std::string_view check_status_name(CheckStatus s);

struct ValidationCheck {
  std::string group;  // "expected", "contract", "cross-validation", "weights", "config"
  std::string name;
  CheckStatus status = CheckStatus::pass;
  std::string detail;
};

// An expected parameter count against the computed one.
struct ParamExpectation {
  std::string label;  // "--expected-params", "contract total_params"
  uint64_t expected = 0;
  uint64_t computed = 0;
  double difference_percent = 0;  // (expected - computed) / computed x 100
  double tolerance = 0;           // relative
  std::string source;
  bool pass = false;
};

// One dimension as config.json states it and as the tensor shapes reveal it.
struct WeightDimension {
  std::string field;
  std::optional<uint64_t> config;
  uint64_t weights = 0;
  std::string evidence;  // the tensor (and axis) that revealed it
  bool consistent = false;
};

struct ValidationReport {
  std::string model_id;
  std::string revision, commit;
  uint64_t computed_params = 0;
  bool params_from_headers = false;  // else the analytic count from config.json
  std::optional<uint64_t> active_params;

  std::vector<ValidationCheck> checks;
  std::vector<ParamExpectation> expectations;
  std::optional<Contract> contract;
  std::optional<CrossValidation> cross;
  std::optional<FamilyReport> family;  // with ValidateOptions::families
  std::vector<Invariant> invariants;   // with ValidateOptions::families (validate)
  // --family or --size naming nothing in the registry (usage): the CLI exits with its kind.
  std::optional<Error> family_error;
  std::vector<WeightDimension> dimensions;
  std::vector<Finding> findings;  // what the reader and counter noticed (not checks)

  uint64_t stored_bytes = 0;
  std::vector<FormatSize> formats;
  std::optional<KvCache> kv;
  std::string kv_unavailable;
  std::optional<ArchitectureExplanation> explanation;
  std::vector<std::string> sources;  // validation_sources

  bool passed() const;
  size_t count(CheckStatus s) const;
};

// Runs every check on a built model: expected params and layers, the contract's
// self-consistency and cross-validation against config.json, config <-> weights dimensions,
// index <-> shards, offsets <-> file sizes; plus memory, KV cache and the explanation.
ValidationReport validate_model(const Model& model, const Analysis& analysis,
                                const ValidateOptions& options);
// The same, analysing the model first (with options.context and batch, and the explanation).
ValidationReport validate_model(const Model& model, const ValidateOptions& options);

// One line for emit-config's validation_notes: "passed 14 of 14 checks: ..." or the failures.
std::string validation_summary(const ValidationReport& report);

// "70553706496", "70,553,706,496", "70.55B", "7.0e10", "1.5T", "350M", "6.7K" -> a count.
// Fails (usage) on anything else, negative or over 2^63.
Result<uint64_t> parse_param_count(std::string_view text);

}  // namespace mbuild
