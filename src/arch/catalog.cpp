#include "mbuild/arch/catalog.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <muParser.h>

#include "mbuild/source/local_source.hpp"
#include "mbuild/util/json_guard.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

// The estimator's classes, from its source (DESIGN.md "Layer catalog"). Every class takes
// layer_idx (default 0). The formulas only add and multiply non-negative arguments, so a result
// within 2^53 is exact (see catalog.hpp).
constexpr std::string_view k_builtin = R"json({
  "schema_version": 2,
  "classes": [
    {"class": "EmbeddingLayer",
     "params": ["vocab_size", "hidden_size", "layer_idx"],
     "defaults": {"layer_idx": 0},
     "param_count": "vocab_size * hidden_size"},
    {"class": "AttentionLayer",
     "params": ["hidden_size", "num_heads", "head_dim", "layer_idx"],
     "defaults": {"layer_idx": 0},
     "param_count": "4 * hidden_size * hidden_size"},
    {"class": "GroupedQueryAttentionLayer",
     "params": ["hidden_size", "num_heads", "num_kv_heads", "head_dim", "layer_idx"],
     "defaults": {"layer_idx": 0},
     "param_count": "hidden_size * num_heads * head_dim + 2 * hidden_size * num_kv_heads * head_dim + hidden_size * hidden_size"},
    {"class": "SlidingWindowAttentionLayer",
     "params": ["hidden_size", "num_query_heads", "num_kv_heads", "head_dim", "sliding_window",
                "num_sinks", "has_bias", "layer_idx"],
     "defaults": {"sliding_window": null, "num_sinks": 0, "has_bias": false, "layer_idx": 0},
     "kinds": {"sliding_window": "int_or_null", "has_bias": "bool"},
     "param_count": "2 * hidden_size * num_query_heads * head_dim + 2 * hidden_size * num_kv_heads * head_dim + (has_bias ? num_query_heads * head_dim + 2 * num_kv_heads * head_dim + hidden_size : 0)"},
    {"class": "MLPLayer",
     "params": ["hidden_size", "intermediate_size", "num_projections", "layer_idx"],
     "defaults": {"num_projections": 2, "layer_idx": 0},
     "param_count": "num_projections * hidden_size * intermediate_size",
     "requires": [
       {"expression": "num_projections == 2 || num_projections == 3",
        "message": "num_projections must be 2 or 3"}]},
    {"class": "GatedMLPLayer",
     "params": ["hidden_size", "intermediate_size", "layer_idx"],
     "defaults": {"layer_idx": 0},
     "param_count": "3 * hidden_size * intermediate_size"},
    {"class": "MoELayer",
     "params": ["hidden_size", "intermediate_size", "num_experts", "top_k", "num_shared_experts",
                "num_projections", "has_bias", "layer_idx"],
     "defaults": {"num_shared_experts": 0, "num_projections": 2, "has_bias": false,
                  "layer_idx": 0},
     "kinds": {"has_bias": "bool"},
     "param_count": "hidden_size * num_experts + (has_bias ? num_experts : 0) + (num_experts + num_shared_experts) * (num_projections * hidden_size * intermediate_size + (has_bias ? (num_projections == 3 ? 2 * intermediate_size + hidden_size : intermediate_size + hidden_size) : 0))",
     "requires": [
       {"expression": "num_projections == 2 || num_projections == 3",
        "message": "num_projections must be 2 or 3"},
       {"expression": "top_k <= num_experts",
        "message": "top_k must not exceed num_experts"}]},
    {"class": "NormLayer",
     "params": ["hidden_size", "has_bias", "layer_idx"],
     "defaults": {"has_bias": false, "layer_idx": 0},
     "kinds": {"has_bias": "bool"},
     "param_count": "(has_bias ? 2 : 1) * hidden_size"}
  ]
})json";

// The longest muParser message or expression echoed in an error.
constexpr size_t k_max_echo = 200;

std::string_view kind_name(ArgumentKind kind) {
  switch (kind) {
    case ArgumentKind::any:
      return "any";
    case ArgumentKind::integer:
      return "int";
    case ArgumentKind::boolean:
      return "bool";
    case ArgumentKind::integer_or_null:
      return "int_or_null";
  }
  return "any";
}

std::string_view kind_phrase(ArgumentKind kind) {
  switch (kind) {
    case ArgumentKind::any:
      return "any value";
    case ArgumentKind::integer:
      return "an integer";
    case ArgumentKind::boolean:
      return "true or false";
    case ArgumentKind::integer_or_null:
      return "an integer or null";
  }
  return "any value";
}

std::optional<ArgumentKind> parse_kind(std::string_view name) {
  for (ArgumentKind k :
       {ArgumentKind::integer, ArgumentKind::boolean, ArgumentKind::integer_or_null}) {
    if (kind_name(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

bool has_kind(const ordered_json& v, ArgumentKind kind) {
  switch (kind) {
    case ArgumentKind::any:
      return true;
    case ArgumentKind::integer:
      return v.is_number_integer();
    case ArgumentKind::boolean:
      return v.is_boolean();
    case ArgumentKind::integer_or_null:
      return v.is_null() || v.is_number_integer();
  }
  return false;
}

// Within ±2^53 (numbers only; other values have no magnitude).
bool within_exact_range(const ordered_json& v) {
  if (v.is_number_unsigned()) {
    return v.get<uint64_t>() <= static_cast<uint64_t>(k_max_exact_count);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i >= -k_max_exact_count && i <= k_max_exact_count;
  }
  if (v.is_number_float()) {
    return std::fabs(v.get<double>()) <= static_cast<double>(k_max_exact_count);
  }
  return true;
}

// A JSON value as muParser sees it: booleans 0 and 1, null 0; nothing for strings, arrays and
// objects.
std::optional<double> number_of(const ordered_json& v) {
  if (v.is_boolean()) {
    return v.get<bool>() ? 1.0 : 0.0;
  }
  if (v.is_null()) {
    return 0.0;
  }
  if (v.is_number_unsigned()) {
    return static_cast<double>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) {
    return static_cast<double>(v.get<int64_t>());
  }
  if (v.is_number_float()) {
    return v.get<double>();
  }
  return std::nullopt;
}

// muParser's variable names: a letter or '_', then letters, digits and '_'.
bool is_identifier(std::string_view s) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !s.empty() && letter(s.front()) && std::all_of(s.begin(), s.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9');
  });
}

using ArgumentValues = std::vector<std::pair<std::string, double>>;

// The arguments as the constructor gets them: the entry's value, else the default. An argument
// with neither (only in a version-1 class) is NaN, which makes any formula using it NaN.
ArgumentValues argument_values(const CatalogClass& cls, const ordered_json& specs) {
  ArgumentValues values;
  for (const std::string& p : cls.params) {
    std::optional<double> v;
    if (auto it = specs.find(p); it != specs.end()) {
      v = number_of(*it);
    } else if (auto d = cls.defaults.find(p); d != cls.defaults.end()) {
      v = number_of(*d);
    }
    values.emplace_back(p, v.value_or(std::nan("")));
  }
  return values;
}

// Evaluates a muParser expression with the arguments as constants (so an expression cannot
// assign to them). Every muParser exception ends here, as an Error naming `what`.
Result<double> evaluate(const std::string& what, const std::string& expression,
                        const ArgumentValues& values) {
  try {
    mu::Parser parser;
    for (const auto& [name, value] : values) {
      parser.DefineConst(name, value);
    }
    parser.SetExpr(expression);
    return parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    return bad_input(what, fmt::format("cannot evaluate '{}': {}", excerpt(expression, k_max_echo),
                                       excerpt(e.GetMsg(), k_max_echo)));
  }
}

// Why an expression cannot serve as a formula over `params`, or nothing when it can: muParser
// must parse it, it may name only the arguments (and muParser's functions and constants), and
// it must give one value.
std::optional<std::string> expression_problem(const std::string& expression,
                                              const std::vector<std::string>& params) {
  try {
    mu::Parser parser;
    for (const std::string& p : params) {
      parser.DefineConst(p, 1.0);
    }
    parser.SetExpr(expression);
    // The arguments are constants: any variable left is a name the class does not take.
    const mu::varmap_type& unknown = parser.GetUsedVar();
    if (!unknown.empty()) {
      return fmt::format("names '{}', which is not an argument of the class",
                         excerpt(unknown.begin()->first, k_max_echo));
    }
    int results = 0;
    parser.Eval(results);
    if (results != 1) {
      return fmt::format("gives {} comma-separated values instead of one", results);
    }
  } catch (const mu::Parser::exception_type& e) {
    return fmt::format("muParser cannot parse it: {}", excerpt(e.GetMsg(), k_max_echo));
  }
  return std::nullopt;
}

// One entry of "classes", at `path` ("classes[3]"), in a file of `version`.
Result<CatalogClass> parse_class(const std::string& where, const std::string& path,
                                 const ordered_json& c, uint64_t version) {
  auto fault = [&](const std::string& field, const std::string& why) {
    return bad_input(where, fmt::format("{}{}: {}", path, field, why));
  };
  if (!c.is_object() || !c.contains("class") || !c["class"].is_string()) {
    return bad_input(where, fmt::format("{}.class must be a string", path));
  }
  CatalogClass cc;
  cc.name = c["class"].get<std::string>();
  if (cc.name.empty()) {
    return bad_input(where, fmt::format("{}.class is empty", path));
  }
  cc.required_known = version >= 2;
  if (auto p = c.find("params"); p != c.end()) {
    if (!p->is_array()) {
      return bad_input(where, fmt::format("{}.params must be an array of strings", path));
    }
    for (const ordered_json& name : *p) {
      if (!name.is_string()) {
        return bad_input(where, fmt::format("{}.params must be an array of strings", path));
      }
      cc.params.push_back(name.get<std::string>());
    }
  }
  if (version >= 2) {
    for (size_t i = 0; i < cc.params.size(); ++i) {
      const std::string& p = cc.params[i];
      if (!is_identifier(p)) {
        return fault(fmt::format(".params[{}]", i),
                     fmt::format("'{}' is not a name (letters, digits and '_')", excerpt(p)));
      }
      if (std::count(cc.params.begin(), cc.params.end(), p) > 1) {
        return fault(fmt::format(".params[{}]", i), fmt::format("'{}' listed twice", p));
      }
    }
  }
  if (auto d = c.find("defaults"); d != c.end()) {
    if (!d->is_object()) {
      return bad_input(where, fmt::format("{}.defaults must be an object", path));
    }
    cc.defaults = *d;
  }
  if (auto k = c.find("kinds"); k != c.end()) {
    if (!k->is_object()) {
      return fault(".kinds",
                   "must be an object of argument -> \"int\", \"bool\" or \"int_or_null\"");
    }
    for (const auto& [name, kind] : k->items()) {
      const auto parsed = kind.is_string() ? parse_kind(kind.get<std::string>()) : std::nullopt;
      if (!parsed) {
        return fault(".kinds." + name,
                     fmt::format("must be \"int\", \"bool\" or \"int_or_null\", not {}",
                                 excerpt(kind.dump())));
      }
      if (!cc.takes(name)) {
        return fault(".kinds." + name, "not one of the class's params");
      }
      cc.kinds[name] = *parsed;
    }
  }
  if (version >= 2) {
    for (const std::string& p : cc.params) {
      cc.kinds.try_emplace(p, ArgumentKind::integer);
    }
    for (const auto& [name, value] : cc.defaults.items()) {
      if (!cc.takes(name)) {
        return fault(".defaults." + name, "not one of the class's params");
      }
      if (!has_kind(value, cc.kind_of(name)) || !within_exact_range(value)) {
        return fault(".defaults." + name,
                     fmt::format("must be {}, not {}", kind_phrase(cc.kind_of(name)),
                                 excerpt(value.dump())));
      }
    }
  }
  if (auto f = c.find("param_count"); f != c.end()) {
    if (!f->is_string()) {
      return fault(".param_count", "must be a string (a muParser expression)");
    }
    cc.param_count = f->get<std::string>();
    if (auto problem = expression_problem(*cc.param_count, cc.params)) {
      return fault(".param_count", *problem);
    }
  }
  if (auto r = c.find("requires"); r != c.end()) {
    if (!r->is_array()) {
      return fault(".requires", "must be an array of {\"expression\", \"message\"} objects");
    }
    for (size_t i = 0; i < r->size(); ++i) {
      const ordered_json& req = (*r)[i];
      const std::string at = fmt::format(".requires[{}]", i);
      if (!req.is_object() || !req.contains("expression") || !req["expression"].is_string()) {
        return fault(at + ".expression", "must be a string (a muParser expression)");
      }
      if (!req.contains("message") || !req["message"].is_string()) {
        return fault(at + ".message", "must be a string");
      }
      CatalogRequirement requirement{req["expression"].get<std::string>(),
                                     req["message"].get<std::string>()};
      if (auto problem = expression_problem(requirement.expression, cc.params)) {
        return fault(at + ".expression", *problem);
      }
      cc.requirements.push_back(std::move(requirement));
    }
  }
  return cc;
}

}  // namespace

bool CatalogClass::takes(std::string_view argument) const {
  return std::find(params.begin(), params.end(), argument) != params.end();
}

bool CatalogClass::is_required(std::string_view argument) const {
  return required_known && takes(argument) && !defaults.contains(argument);
}

ArgumentKind CatalogClass::kind_of(std::string_view argument) const {
  auto it = kinds.find(argument);
  return it == kinds.end() ? ArgumentKind::any : it->second;
}

const CatalogClass* Catalog::find(std::string_view name) const {
  for (const CatalogClass& c : classes) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const Catalog& builtin_catalog() {
  static const Catalog k_catalog = [] {
    auto c = parse_catalog("built-in catalog", k_builtin);
    return c ? *c : Catalog{};
  }();
  return k_catalog;
}

Result<Catalog> parse_catalog(std::string_view file, std::string_view text) {
  const std::string where(file);
  if (text.size() > k_max_catalog_bytes) {
    return bad_input(
        where, fmt::format("{} bytes, over the {} byte limit", text.size(), k_max_catalog_bytes));
  }
  auto parsed = parse_json_object<ordered_json>(where, text);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  const ordered_json doc = std::move(*parsed);
  Catalog catalog;
  catalog.source = where;
  catalog.schema_version = 1;
  if (auto v = doc.find("schema_version"); v != doc.end()) {
    if (!v->is_number_unsigned() || v->get<uint64_t>() == 0) {
      return bad_input(where, fmt::format("schema_version must be a positive integer, not {}",
                                          excerpt(v->dump())));
    }
    catalog.schema_version = v->get<uint64_t>();
    if (catalog.schema_version > k_catalog_schema_version) {
      return bad_input(where, fmt::format("schema_version {} is newer than this build reads ({})",
                                          catalog.schema_version, k_catalog_schema_version));
    }
  }
  auto classes = doc.find("classes");
  if (classes == doc.end() || !classes->is_array()) {
    return bad_input(where, "'classes' must be an array of {\"class\", \"params\"} objects");
  }
  for (size_t i = 0; i < classes->size(); ++i) {
    const std::string path = fmt::format("classes[{}]", i);
    auto cc = parse_class(where, path, (*classes)[i], catalog.schema_version);
    if (!cc) {
      return tl::unexpected(cc.error());
    }
    if (catalog.find(cc->name)) {
      return bad_input(where, fmt::format("{}: class '{}' listed twice", path, cc->name));
    }
    catalog.classes.push_back(std::move(*cc));
  }
  return catalog;
}

Result<Catalog> load_catalog(const std::filesystem::path& path) {
  // The same bounded, regular-files-only read as every other input file.
  auto bytes = read_small_file(path, k_max_catalog_bytes);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  return parse_catalog(path.string(), bytes->view());
}

ordered_json catalog_json(const Catalog& catalog) {
  ordered_json doc;
  doc["schema_version"] = catalog.schema_version;
  doc["classes"] = ordered_json::array();
  for (const CatalogClass& c : catalog.classes) {
    ordered_json o;
    o["class"] = c.name;
    o["params"] = c.params;
    if (!c.defaults.empty()) {
      o["defaults"] = c.defaults;
    }
    ordered_json kinds = ordered_json::object();
    for (const std::string& p : c.params) {
      const ArgumentKind k = c.kind_of(p);
      // "int" is what version 2 assumes for an argument it does not name.
      if (k != ArgumentKind::any && !(k == ArgumentKind::integer && c.required_known)) {
        kinds[p] = kind_name(k);
      }
    }
    if (!kinds.empty()) {
      o["kinds"] = std::move(kinds);
    }
    if (c.param_count) {
      o["param_count"] = *c.param_count;
    }
    if (!c.requirements.empty()) {
      ordered_json reqs = ordered_json::array();
      for (const CatalogRequirement& r : c.requirements) {
        reqs.push_back({{"expression", r.expression}, {"message", r.message}});
      }
      o["requires"] = std::move(reqs);
    }
    doc["classes"].push_back(std::move(o));
  }
  return doc;
}

std::vector<ArgumentProblem> check_arguments(const CatalogClass& cls, const ordered_json& specs) {
  std::vector<ArgumentProblem> problems;
  if (!specs.is_object()) {
    problems.push_back({ArgumentProblemKind::wrong_type, "", "specs is not an object"});
    return problems;
  }
  for (const std::string& p : cls.params) {
    auto it = specs.find(p);
    if (it == specs.end()) {
      if (cls.is_required(p)) {
        problems.push_back(
            {ArgumentProblemKind::missing, p, fmt::format("required argument '{}' is missing", p)});
      }
      continue;
    }
    const ArgumentKind kind = cls.kind_of(p);
    if (!has_kind(*it, kind)) {
      problems.push_back(
          {ArgumentProblemKind::wrong_type, p,
           fmt::format("'{}' must be {}, not {}", p, kind_phrase(kind), excerpt(it->dump()))});
    } else if (!within_exact_range(*it)) {
      problems.push_back({ArgumentProblemKind::too_large, p,
                          fmt::format("'{}' = {} exceeds 2^53 ({}), past what a double holds "
                                      "exactly",
                                      p, excerpt(it->dump()), k_max_exact_count)});
    }
  }
  if (!problems.empty() || cls.requirements.empty()) {
    return problems;
  }
  const ArgumentValues values = argument_values(cls, specs);
  for (const CatalogRequirement& r : cls.requirements) {
    auto holds = evaluate(cls.name, r.expression, values);
    if (!holds) {
      problems.push_back({ArgumentProblemKind::rejected, "", holds.error().why});
    } else if (std::isnan(*holds) || *holds == 0.0) {
      problems.push_back({ArgumentProblemKind::rejected, "", r.message});
    }
  }
  return problems;
}

Result<int64_t> evaluate_param_count(const CatalogClass& cls, const ordered_json& specs) {
  if (!cls.param_count) {
    return bad_input(cls.name, "the catalog gives no param_count formula for this class");
  }
  if (const auto problems = check_arguments(cls, specs); !problems.empty()) {
    std::string why;
    for (const ArgumentProblem& p : problems) {
      why += why.empty() ? p.message : "; " + p.message;
    }
    return bad_input(cls.name, why);
  }
  const ArgumentValues values = argument_values(cls, specs);
  auto result = evaluate(cls.name, *cls.param_count, values);
  if (!result) {
    return tl::unexpected(result.error());
  }
  const double x = *result;
  if (std::isnan(x)) {
    std::string unset;
    for (const auto& [name, value] : values) {
      if (std::isnan(value)) {
        unset += unset.empty() ? name : ", " + name;
      }
    }
    return bad_input(cls.name, unset.empty() ? "param_count is not a number"
                                             : fmt::format("param_count is not a number: no "
                                                           "value and no default for {}",
                                                           unset));
  }
  if (!(std::fabs(x) <= static_cast<double>(k_max_exact_count))) {
    return bad_input(cls.name, fmt::format("param_count = {} exceeds 2^53 ({}), past what a "
                                           "double holds exactly",
                                           x, k_max_exact_count));
  }
  if (x != std::floor(x)) {
    return bad_input(cls.name, fmt::format("param_count = {} is not a whole number", x));
  }
  if (x < 0) {
    return bad_input(cls.name, fmt::format("param_count = {} is negative", x));
  }
  return static_cast<int64_t>(x);
}

}  // namespace mbuild
