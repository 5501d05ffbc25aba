// mbuild lint-config: estimator configs (emitted or hand-written) checked the way the
// performance estimator meets them (DESIGN.md "Emitted config"), as plain data.
//
// Per file: a JSON object whose model_id is the file stem; entry names unique across
// layer_types and unsupported_layer_types; every layer_types class in the catalog (an inline
// "supported": false entry included: the estimator resolves every layer_types class, and one
// unknown class makes the model unusable); each entry's constructor arguments present, of their
// kind and accepted by the constructor's requirements; specs.parameter_count equal to the class
// formula; Σ count × parameter_count over both lists equal to total_params; the gap reports of
// unsupported entries present. Notes, not errors: spec keys the constructor does not take
// (the estimator ignores them), a missing parameter_count (the formula's value is used) or
// "supported" (assumed true).
//
// A gap_report path is resolved against the config's folder, then against that folder's parent:
// emit-config writes it relative to the parent of the configs folder (model_configs/ beside
// gaps/ gives "gaps/<layer>.md"), and a hand-written config may keep its reports beside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mbuild/arch/catalog.hpp"
#include "mbuild/util/error.hpp"

namespace mbuild {

// The largest config file linted (hand-written configs are a few KB; a file past this is a lint
// error, not a read).
inline constexpr uint64_t k_max_lint_config_bytes = 16'000'000;

enum class LintSeverity { error, note };
std::string_view lint_severity_name(LintSeverity severity);  // "error", "note"

struct LintProblem {
  LintSeverity severity = LintSeverity::error;
  std::string entry;  // the entry's name (or "layer_types[3]" when it has none); empty: the file
  std::string message;
};

struct LintedConfig {
  std::string file;  // as named on the command line (or found in a named folder)
  std::vector<LintProblem> problems;

  size_t count(LintSeverity severity) const;
  bool passed() const { return count(LintSeverity::error) == 0; }
};

// The files `paths` name: a file as itself, a folder as every `*.json` directly in it (sorted by
// name, not recursive), in the order given. Fails (not_found) when a path does not exist or a
// folder holds no `*.json` file.
Result<std::vector<std::filesystem::path>> lint_config_files(const std::vector<std::string>& paths);

// Lints one config document. `file` names it in messages and gives the stem model_id must equal
// and the folder gap reports are resolved against (gap reports are looked up on disk).
LintedConfig lint_config(const std::filesystem::path& file, std::string_view text,
                         const Catalog& catalog);

// Reads and lints a config file. A file that cannot be read, is too large or is not JSON is a
// lint error in the result, never a failure.
LintedConfig lint_config_file(const std::filesystem::path& file, const Catalog& catalog);

}  // namespace mbuild
