// mbuild lint-config FILE|DIR...: estimator configs checked the way the estimator meets them;
// exit 1 when any has an error.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mbuild/arch/catalog.hpp"
#include "mbuild/report/lint_config.hpp"

namespace mbuild::cli {
namespace {

struct LintConfigCommandOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string catalog;
};

// One line, with what came from the file (names, values) escaped as error lines are.
std::string one_line(const std::string& text) {
  return Error(ErrorKind::bad_input, "", text).message();
}

std::string render_text(const std::vector<LintedConfig>& results) {
  std::string out;
  size_t errors = 0, notes = 0, failed = 0;
  for (const LintedConfig& r : results) {
    for (const LintProblem& p : r.problems) {
      const std::string entry = p.entry.empty() ? "" : p.entry + ": ";
      out += one_line(fmt::format("{}: {}{}: {}", r.file, entry, lint_severity_name(p.severity),
                                  p.message)) +
             "\n";
    }
    errors += r.count(LintSeverity::error);
    notes += r.count(LintSeverity::note);
    failed += r.passed() ? size_t{0} : size_t{1};
  }
  out += fmt::format("{} file{} linted: {} with errors; {} error{}, {} note{}\n", results.size(),
                     results.size() == 1 ? "" : "s", failed, errors, errors == 1 ? "" : "s", notes,
                     notes == 1 ? "" : "s");
  return out;
}

std::string render_json(const std::vector<LintedConfig>& results) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  size_t errors = 0, notes = 0;
  for (const LintedConfig& r : results) {
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const LintProblem& p : r.problems) {
      problems.push_back({{"severity", lint_severity_name(p.severity)},
                          {"entry", p.entry},
                          {"message", p.message}});
    }
    files.push_back({{"file", r.file},
                     {"passed", r.passed()},
                     {"errors", r.count(LintSeverity::error)},
                     {"notes", r.count(LintSeverity::note)},
                     {"problems", std::move(problems)}});
    errors += r.count(LintSeverity::error);
    notes += r.count(LintSeverity::note);
  }
  nlohmann::ordered_json doc;
  doc["files"] = std::move(files);
  doc["passed"] = errors == 0;
  doc["errors"] = errors;
  doc["notes"] = notes;
  // Replace, not throw, on invalid UTF-8 read from a file.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

int run_lint_config(const LintConfigCommandOptions& o) {
  Catalog catalog = builtin_catalog();
  if (!o.catalog.empty()) {
    auto loaded = load_catalog(o.catalog);
    if (!loaded) {
      print_error(loaded.error());
      return exit_code(loaded.error().kind);
    }
    catalog = std::move(*loaded);
  }
  auto files = lint_config_files(o.paths);
  if (!files) {
    print_error(files.error());
    return exit_code(files.error().kind);
  }
  std::vector<LintedConfig> results;
  for (const auto& file : *files) {
    results.push_back(lint_config_file(file, catalog));
  }
  const std::string text = o.format == "json" ? render_json(results) : render_text(results);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  for (const LintedConfig& r : results) {
    if (!r.passed()) {
      return 1;
    }
  }
  return 0;
}

}  // namespace

void setup_lint_config(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<LintConfigCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "lint-config",
      "Check estimator configs (emitted or hand-written) the way the estimator loads them; "
      "exit 1 when any has an error");
  sub->add_option("path", options->paths,
                  "Config file, or folder (every *.json directly in it, sorted)")
      ->required();
  sub->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--catalog", options->catalog,
                  "JSON file of the estimator's layer classes and formulas (replaces the "
                  "built-in catalog)");
  sub->callback([options, &exit_code] { exit_code = run_lint_config(*options); });
}

}  // namespace mbuild::cli
