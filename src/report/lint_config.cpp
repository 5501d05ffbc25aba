#include "mbuild/report/lint_config.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "mbuild/source/local_source.hpp"
#include "mbuild/util/json_guard.hpp"
#include "util/checked.hpp"

namespace mbuild {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::optional<uint64_t> as_count(const ojson& v) {
  if (v.is_number_unsigned()) {
    return v.get<uint64_t>();
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(v.get<int64_t>());
  }
  return std::nullopt;
}

// A positive integer field of the top level, or nothing.
std::optional<uint64_t> top_count(const ojson& doc, std::string_view key) {
  auto it = doc.find(key);
  return it == doc.end() ? std::nullopt : as_count(*it);
}

// Where a gap report named in a config is: beside the config, else in the config folder's
// parent (emit-config writes the path relative to the parent of the configs folder).
std::optional<fs::path> find_gap_report(const fs::path& config, const fs::path& report) {
  std::error_code ec;
  if (report.is_absolute()) {
    return fs::is_regular_file(report, ec) ? std::optional(report) : std::nullopt;
  }
  const fs::path folder = fs::absolute(config, ec).lexically_normal().parent_path();
  for (const fs::path& base : {folder, folder.parent_path()}) {
    const fs::path candidate = base / report;
    if (fs::is_regular_file(candidate, ec)) {
      return candidate;
    }
  }
  return std::nullopt;
}

// "an untied lm_head (and 81 norms) left out" when `missing` is exactly vocab × hidden plus
// whole norm vectors: what hand-written configs leave out.
std::string missing_cause(uint64_t missing, uint64_t vocab, uint64_t hidden) {
  const auto head = checked_mul(vocab, hidden);
  if (!head || *head == 0 || missing < *head || (missing - *head) % hidden != 0) {
    return "";
  }
  const uint64_t norms = (missing - *head) / hidden;
  if (norms == 0) {
    return fmt::format("; exactly vocab_size × hidden_size ({} × {}): an untied lm_head left out",
                       vocab, hidden);
  }
  return fmt::format(
      "; exactly vocab_size × hidden_size ({} × {}) plus {} × hidden_size: an untied lm_head "
      "(and {} norms) left out",
      vocab, hidden, norms, norms);
}

class ConfigLinter {
 public:
  ConfigLinter(const fs::path& file, const Catalog& catalog) : m_file(file), m_catalog(catalog) {
    m_out.file = file.string();
  }

  LintedConfig run(std::string_view text) {
    auto parsed = parse_json_object<ojson>(m_out.file, text);
    if (!parsed) {
      error("", parsed.error().why);
      return std::move(m_out);
    }
    const ojson& doc = *parsed;
    check_model_id(doc);
    lint_list(doc, "layer_types", false);
    lint_list(doc, "unsupported_layer_types", true);
    check_accounting(doc);
    return std::move(m_out);
  }

 private:
  void error(const std::string& entry, std::string message) {
    m_out.problems.push_back({LintSeverity::error, entry, std::move(message)});
  }
  void note(const std::string& entry, std::string message) {
    m_out.problems.push_back({LintSeverity::note, entry, std::move(message)});
  }

  void check_model_id(const ojson& doc) {
    const std::string stem = m_file.stem().string();
    auto id = doc.find("model_id");
    if (id == doc.end() || !id->is_string()) {
      error("", fmt::format("model_id is missing or not a string (it must be the file stem '{}')",
                            excerpt(stem)));
    } else if (id->get<std::string>() != stem) {
      error("", fmt::format("model_id '{}' is not the file stem '{}'",
                            excerpt(id->get<std::string>()), excerpt(stem)));
    }
  }

  void lint_list(const ojson& doc, const std::string& list, bool unsupported_list) {
    auto it = doc.find(list);
    if (it == doc.end()) {
      if (!unsupported_list) {
        error("", "layer_types is missing");
        m_accounting_complete = false;
      }
      return;
    }
    if (!it->is_array()) {
      error("", fmt::format("{} must be an array of entries", list));
      m_accounting_complete = false;
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      lint_entry((*it)[i], fmt::format("{}[{}]", list, i), unsupported_list);
    }
  }

  void lint_entry(const ojson& e, const std::string& where, bool unsupported_list) {
    if (!e.is_object()) {
      error(where, "not an object");
      m_accounting_complete = false;
      return;
    }
    std::string label = where;
    auto name = e.find("name");
    if (name != e.end() && name->is_string() && !name->get<std::string>().empty()) {
      label = excerpt(name->get<std::string>());
      auto [first, inserted] = m_names.try_emplace(name->get<std::string>(), where);
      if (!inserted) {
        error(label, fmt::format("name used twice: {} and {} (names must be unique across "
                                 "layer_types and unsupported_layer_types)",
                                 first->second, where));
      }
    } else {
      error(label, "has no \"name\" string");
    }
    std::optional<uint64_t> count;
    if (auto c = e.find("count"); c == e.end()) {
      error(label, "has no count");
    } else if (count = as_count(*c); !count) {
      error(label, fmt::format("count must be a non-negative integer, not {}", excerpt(c->dump())));
    }
    std::optional<bool> supported;
    if (auto s = e.find("supported"); s == e.end()) {
      if (!unsupported_list) {
        note(label, "no \"supported\": assumed true");
      }
    } else if (s->is_boolean()) {
      supported = s->get<bool>();
    } else {
      error(label, fmt::format("supported must be true or false, not {}", excerpt(s->dump())));
    }
    const ojson* specs = nullptr;
    if (auto s = e.find("specs"); s == e.end()) {
      error(label, "has no specs");
    } else if (!s->is_object()) {
      error(label, fmt::format("specs must be an object, not {}", excerpt(s->dump())));
    } else {
      specs = &*s;
    }
    const CatalogClass* cls = nullptr;
    auto class_name = e.find("class");
    if (class_name == e.end() || !class_name->is_string() ||
        class_name->get<std::string>().empty()) {
      error(label, "has no \"class\" string");
    } else {
      const std::string cname = class_name->get<std::string>();
      cls = m_catalog.find(cname);
      if (!unsupported_list && !cls) {
        error(label, supported == false
                         ? fmt::format("class {} is not in the catalog ({}), and a \"supported\": "
                                       "false entry in layer_types is still resolved by the "
                                       "estimator: one unknown class makes the whole model "
                                       "unusable (move it to unsupported_layer_types)",
                                       excerpt(cname), m_catalog.source)
                         : fmt::format("class {} is not in the catalog ({}): the estimator "
                                       "cannot build it, and one unknown class makes the whole "
                                       "model unusable",
                                       excerpt(cname), m_catalog.source));
      } else if (!unsupported_list && supported == false) {
        note(label, fmt::format("marked \"supported\": false, but the catalog has class {}: the "
                                "estimator builds it",
                                cname));
      }
    }
    if (unsupported_list || supported == false) {
      check_gap_report(e, label);
    }
    std::optional<uint64_t> formula;
    if (cls && specs && !unsupported_list) {
      formula = check_class(*cls, *specs, label);
    }
    std::optional<uint64_t> written;
    if (specs) {
      auto pc = specs->find("parameter_count");
      if (pc == specs->end()) {
        if (formula) {
          note(label, fmt::format("no parameter_count: the estimator computes {} from the {} "
                                  "formula",
                                  *formula, cls->name));
        } else {
          error(label,
                "no parameter_count, and no catalog formula to compute it: the "
                "accounting cannot be checked");
        }
      } else if (written = as_count(*pc); !written) {
        error(label, fmt::format("parameter_count must be a non-negative integer, not {}",
                                 excerpt(pc->dump())));
      } else if (formula && *formula != *written) {
        const std::string by = *written > *formula ? fmt::format("+{}", *written - *formula)
                                                   : fmt::format("-{}", *formula - *written);
        error(label, fmt::format("parameter_count {} differs from the {} formula's {} (by {}): "
                                 "the estimator ignores it and uses the formula",
                                 *written, cls->name, *formula, by));
      }
    }
    const std::optional<uint64_t> size = written ? written : formula;
    if (!count || !size) {
      m_accounting_complete = false;
      return;
    }
    const auto product = checked_mul(*count, *size);
    const auto sum = product ? checked_add(m_sum, *product) : std::nullopt;
    if (!sum) {
      error(label, "count × parameter_count overflows 64 bits");
      m_accounting_complete = false;
      return;
    }
    m_sum = *sum;
  }

  // The constructor's view of an entry: argument problems (errors), keys it ignores (a note),
  // and its formula's count when it can be evaluated.
  std::optional<uint64_t> check_class(const CatalogClass& cls, const ojson& specs,
                                      const std::string& label) {
    const auto problems = check_arguments(cls, specs);
    for (const ArgumentProblem& p : problems) {
      error(label, fmt::format("{}: {}", cls.name, p.message));
    }
    std::string ignored;
    for (const auto& [key, value] : specs.items()) {
      if (key != "parameter_count" && !cls.takes(key)) {
        ignored += ignored.empty() ? excerpt(key) : ", " + excerpt(key);
      }
    }
    if (!ignored.empty()) {
      note(label, fmt::format("spec keys {} does not take (the estimator ignores them): {}",
                              cls.name, ignored));
    }
    if (!cls.param_count) {
      note(label, fmt::format("the catalog ({}) has no param_count formula for {}: "
                              "parameter_count is not size-checked",
                              m_catalog.source, cls.name));
      return std::nullopt;
    }
    if (!problems.empty()) {
      return std::nullopt;
    }
    auto n = evaluate_param_count(cls, specs);
    if (!n) {
      error(label, n.error().message());
      return std::nullopt;
    }
    return static_cast<uint64_t>(*n);
  }

  void check_gap_report(const ojson& e, const std::string& label) {
    auto gap = e.find("gap_report");
    if (gap == e.end()) {
      note(label, "unsupported, with no gap_report");
      return;
    }
    if (!gap->is_string()) {
      error(label, fmt::format("gap_report must be a path, not {}", excerpt(gap->dump())));
      return;
    }
    const std::string path = gap->get<std::string>();
    if (path.empty() || !find_gap_report(m_file, path)) {
      error(label, fmt::format("gap report '{}' not found (looked beside the config and in its "
                               "parent folder)",
                               excerpt(path)));
    }
  }

  void check_accounting(const ojson& doc) {
    const auto total = top_count(doc, "total_params");
    if (!total) {
      error("", "total_params is missing or not a non-negative integer");
      return;
    }
    if (!m_accounting_complete || m_sum == *total) {
      return;
    }
    if (m_sum > *total) {
      error("", fmt::format("Σ count × parameter_count = {} is {} more than total_params = {}",
                            m_sum, m_sum - *total, *total));
      return;
    }
    const uint64_t missing = *total - m_sum;
    const std::string cause = missing_cause(missing, top_count(doc, "vocab_size").value_or(0),
                                            top_count(doc, "hidden_size").value_or(0));
    error("", fmt::format("Σ count × parameter_count = {} is {} short of total_params = {}{}",
                          m_sum, missing, *total, cause));
  }

  const fs::path& m_file;
  const Catalog& m_catalog;
  LintedConfig m_out;
  std::map<std::string, std::string> m_names;  // entry name -> where it first appears
  uint64_t m_sum = 0;
  bool m_accounting_complete = true;
};

}  // namespace

std::string_view lint_severity_name(LintSeverity severity) {
  return severity == LintSeverity::error ? "error" : "note";
}

size_t LintedConfig::count(LintSeverity severity) const {
  return static_cast<size_t>(
      std::count_if(problems.begin(), problems.end(),
                    [&](const LintProblem& p) { return p.severity == severity; }));
}

Result<std::vector<fs::path>> lint_config_files(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const std::string& p : paths) {
    const fs::path path(p);
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> found;
      for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".json" && it->is_regular_file(ec)) {
          found.push_back(it->path());
        }
      }
      if (ec) {
        return fail(ErrorKind::io, excerpt(p, 200), "cannot list the folder");
      }
      if (found.empty()) {
        return fail(ErrorKind::not_found, excerpt(p, 200), "no *.json file in the folder");
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else {
      return fail(ErrorKind::not_found, excerpt(p, 200), "no such file or folder");
    }
  }
  return files;
}

LintedConfig lint_config(const fs::path& file, std::string_view text, const Catalog& catalog) {
  return ConfigLinter(file, catalog).run(text);
}

LintedConfig lint_config_file(const fs::path& file, const Catalog& catalog) {
  auto bytes = read_small_file(file, k_max_lint_config_bytes);
  if (!bytes) {
    LintedConfig out;
    out.file = file.string();
    out.problems.push_back({LintSeverity::error, "", bytes.error().why});
    return out;
  }
  return lint_config(file, bytes->view(), catalog);
}

}  // namespace mbuild
