// The layer catalog: the layer classes the performance estimator supports, with their
// constructor arguments and their `param_count` as data (DESIGN.md "Layer catalog").
//
// File shape (`--catalog FILE`; the built-in default has the same shape):
//   { "schema_version": 2,
//     "classes": [
//       { "class": "MLPLayer",
//         "params": ["hidden_size", "intermediate_size", "num_projections", "layer_idx"],
//         "defaults": { "num_projections": 2, "layer_idx": 0 },
//         "kinds": { "num_projections": "int" },
//         "param_count": "num_projections * hidden_size * intermediate_size",
//         "requires": [ { "expression": "num_projections == 2 || num_projections == 3",
//                         "message": "num_projections must be 2 or 3" } ] },
//       ... ] }
// "params" lists the constructor arguments in order; "defaults" gives the values of those that
// have one, and in version 2 an argument without a default is required. "kinds" gives each
// argument's JSON type: "int", "bool" or "int_or_null" ("int" when not named). "param_count" and
// each "requires" expression are muParser expressions over the arguments (booleans are 0 and 1,
// null is 0; `a ? b : c`, `==`, `<=`, `&&`, `||` work); a requirement holds when nonzero.
// "param_count" and "requires" are optional: a class without a formula is known but its entries
// cannot be size-checked.
// Version 1 files (no "schema_version", or 1: "params" and "defaults" only) still load; they say
// nothing about kinds or which arguments are required, so neither is checked for their classes.
// A file replaces the built-in catalog entirely.
//
// Exactness: muParser computes in double, which holds every integer up to 2^53 exactly. An
// argument or a result whose magnitude exceeds 2^53, and a result that is not a whole number
// (or is negative), is refused rather than rounded. Formulas built from non-negative arguments
// with + and * (as the built-in ones are) never have an intermediate value larger than their
// result, so a result within 2^53 is exact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mbuild/util/error.hpp"

namespace mbuild {

// The catalog file version this build writes; it reads this one and every older one.
inline constexpr uint64_t k_catalog_schema_version = 2;

// The largest catalog file read (the built-in one is ~4 KB).
inline constexpr uint64_t k_max_catalog_bytes = 16'000'000;

// The largest magnitude an argument or a parameter count may have: doubles (muParser's numbers)
// hold every integer up to 2^53 exactly, and no integer above it reliably.
inline constexpr int64_t k_max_exact_count = int64_t{1} << 53;

// What JSON value a constructor argument takes. `any`: not stated (a version-1 catalog).
enum class ArgumentKind { any, integer, boolean, integer_or_null };

// A condition the constructor checks (it raises when the expression is zero).
struct CatalogRequirement {
  std::string expression;  // muParser syntax over the class's arguments
  std::string message;     // what the constructor says when it refuses
};

struct CatalogClass {
  std::string name;
  std::vector<std::string> params;  // constructor arguments, in order
  nlohmann::ordered_json defaults = nlohmann::ordered_json::object();
  // Each argument's kind; an argument not named here is `integer` in a version-2 class and
  // `any` in a version-1 one.
  std::map<std::string, ArgumentKind, std::less<>> kinds;
  // Version 2: an argument without a default is required. Version 1 does not say.
  bool required_known = false;
  std::optional<std::string> param_count;  // muParser expression; absent: no formula
  std::vector<CatalogRequirement> requirements;

  // Whether the constructor takes an argument of this name.
  bool takes(std::string_view argument) const;
  // Whether the argument must be given (version 2, no default).
  bool is_required(std::string_view argument) const;
  ArgumentKind kind_of(std::string_view argument) const;
};

struct Catalog {
  std::vector<CatalogClass> classes;
  std::string source = "built-in";                     // "built-in" or the file it was read from
  uint64_t schema_version = k_catalog_schema_version;  // as read; catalog_json writes it back

  // The class named `name`, or nullptr when the estimator cannot model it.
  const CatalogClass* find(std::string_view name) const;
  bool supports(std::string_view name) const { return find(name) != nullptr; }
};

// The estimator's eight classes with their formulas: EmbeddingLayer, AttentionLayer,
// GroupedQueryAttentionLayer, SlidingWindowAttentionLayer, MLPLayer, GatedMLPLayer, MoELayer,
// NormLayer.
const Catalog& builtin_catalog();

// Parses a catalog document. Fails (bad_input, naming `file` and the JSON path) when it is not
// JSON, does not have the shape above, has a newer schema_version, or holds an expression
// muParser cannot parse or one naming anything but the class's arguments.
Result<Catalog> parse_catalog(std::string_view file, std::string_view text);

// Reads and parses a catalog file (not_found when it does not exist).
Result<Catalog> load_catalog(const std::filesystem::path& path);

// The catalog as a document in the file shape, at the version it was read with (the built-in
// one round-trips).
nlohmann::ordered_json catalog_json(const Catalog& catalog);

// What is wrong with the arguments an entry would construct its class with.
enum class ArgumentProblemKind {
  missing,     // a required argument is absent
  wrong_type,  // not the JSON type the argument takes
  too_large,   // an integer whose magnitude exceeds 2^53
  rejected,    // a "requires" condition fails
};

struct ArgumentProblem {
  ArgumentProblemKind kind = ArgumentProblemKind::missing;
  std::string argument;  // the argument concerned; empty for a failed requirement
  std::string message;   // one clause, e.g. "required argument 'top_k' is missing"
};

// Checks an entry's `specs` (an emitted entry's specs object) against the class's constructor:
// required arguments present, each of its kind and within 2^53, then every requirement (only
// when the arguments themselves are sound). Keys the constructor does not take are ignored, as
// the estimator ignores them; absent arguments take their defaults. Empty when all is well.
std::vector<ArgumentProblem> check_arguments(const CatalogClass& cls,
                                             const nlohmann::ordered_json& specs);

// The class's param_count for an entry's specs (absent arguments take their defaults; booleans
// count 0 and 1, null 0). Fails (bad_input, naming the class) when the class has no formula,
// check_arguments finds a problem, or the result is not a whole number in [0, 2^53].
Result<int64_t> evaluate_param_count(const CatalogClass& cls, const nlohmann::ordered_json& specs);

}  // namespace mbuild
