#include "mbuild/arch/contract.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "mbuild/source/local_source.hpp"
#include "mbuild/util/json_guard.hpp"
#include "util/checked.hpp"

namespace mbuild {
namespace {

using ojson = nlohmann::ordered_json;

enum class Kind { count, positive, number, boolean, string, string_array, object };

struct FieldRule {
  std::string_view key;
  Kind kind;
  bool required;
};

// The top level of a contract: what the estimator needs, and the optional fields that must
// still have the right type when present.
constexpr std::array k_top_fields = {
    FieldRule{"model_id", Kind::string, true},
    FieldRule{"hidden_size", Kind::positive, true},
    FieldRule{"num_layers", Kind::positive, true},
    FieldRule{"vocab_size", Kind::positive, true},
    FieldRule{"total_params", Kind::count, true},
    FieldRule{"schema_version", Kind::positive, false},
    FieldRule{"hf_model_id", Kind::string, false},
    FieldRule{"revision", Kind::string, false},
    FieldRule{"name", Kind::string, false},
    FieldRule{"model_type", Kind::string, false},
    FieldRule{"total_params_formatted", Kind::string, false},
    FieldRule{"layer_pattern", Kind::string, false},
    FieldRule{"max_position_embeddings", Kind::positive, false},
    FieldRule{"rope_theta", Kind::number, false},
    FieldRule{"norm_eps", Kind::number, false},
    FieldRule{"tie_word_embeddings", Kind::boolean, false},
    FieldRule{"validated", Kind::boolean, false},
    FieldRule{"validation_notes", Kind::string, false},
    FieldRule{"validation_sources", Kind::string_array, false},
    FieldRule{"config", Kind::object, false},
};

constexpr std::array k_layer_fields = {
    FieldRule{"name", Kind::string, true},        FieldRule{"class", Kind::string, true},
    FieldRule{"count", Kind::count, true},        FieldRule{"supported", Kind::boolean, false},
    FieldRule{"gap_report", Kind::string, false},
};

// Spec fields with a known meaning; others are kept as they are.
constexpr std::array k_spec_fields = {
    FieldRule{"layer_idx", Kind::count, false},
    FieldRule{"parameter_count", Kind::count, false},
    FieldRule{"hidden_size", Kind::positive, false},
    FieldRule{"input_dim", Kind::positive, false},
    FieldRule{"output_dim", Kind::positive, false},
    FieldRule{"num_heads", Kind::positive, false},
    FieldRule{"num_query_heads", Kind::positive, false},
    FieldRule{"num_kv_heads", Kind::positive, false},
    FieldRule{"head_dim", Kind::positive, false},
    FieldRule{"intermediate_size", Kind::positive, false},
    FieldRule{"vocab_size", Kind::positive, false},
    FieldRule{"num_experts", Kind::positive, false},
    FieldRule{"top_k", Kind::positive, false},
    FieldRule{"num_shared_experts", Kind::count, false},
    FieldRule{"num_projections", Kind::positive, false},
    FieldRule{"sliding_window", Kind::positive, false},
    FieldRule{"num_sinks", Kind::count, false},
    FieldRule{"has_bias", Kind::boolean, false},
};

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::count:
      return "a non-negative integer";
    case Kind::positive:
      return "a positive integer";
    case Kind::number:
      return "a number";
    case Kind::boolean:
      return "true or false";
    case Kind::string:
      return "a string";
    case Kind::string_array:
      return "an array of strings";
    case Kind::object:
      return "an object";
  }
  return "";
}

bool has_kind(const ojson& v, Kind k) {
  switch (k) {
    case Kind::count:
      return json_count(v).has_value();
    case Kind::positive:
      return json_count(v).value_or(0) > 0;
    case Kind::number:
      return v.is_number();
    case Kind::boolean:
      return v.is_boolean();
    case Kind::string:
      return v.is_string();
    case Kind::string_array:
      return v.is_array() &&
             std::all_of(v.begin(), v.end(), [](const ojson& s) { return s.is_string(); });
    case Kind::object:
      return v.is_object();
  }
  return false;
}

template <size_t N>
std::optional<Error> check_fields(const std::string& file, const ojson& object,
                                  const std::array<FieldRule, N>& rules,
                                  const std::string& prefix) {
  for (const FieldRule& rule : rules) {
    const std::string path = prefix + std::string(rule.key);
    auto it = object.find(rule.key);
    if (it == object.end() || it->is_null()) {
      if (rule.required) {
        return Error{ErrorKind::bad_input, file,
                     fmt::format("required field '{}' is missing", path)};
      }
      continue;
    }
    if (!has_kind(*it, rule.kind)) {
      return Error{ErrorKind::bad_input, file,
                   fmt::format("field '{}' must be {}, not {}", path, kind_name(rule.kind),
                               excerpt(it->dump()))};
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> spec_count(const ojson& specs, std::string_view key) {
  auto it = specs.find(key);
  return it == specs.end() ? std::nullopt : json_count(*it);
}

// Layer types whose specs describe the text model's attention and feed-forward (not a vision
// tower or an unrelated head), for reading architecture fields.
bool describes_text_model(const ContractLayerType& t) {
  std::string lower = t.name + " " + t.layer_class;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("vision") == std::string::npos && lower.find("visual") == std::string::npos &&
         lower.find("cross") == std::string::npos && lower.find("mtp") == std::string::npos;
}

}  // namespace

std::optional<ojson> Contract::field(std::string_view key) const {
  if (auto it = raw.find(key); it != raw.end() && !it->is_null()) {
    return *it;
  }
  if (auto cfg = raw.find("config"); cfg != raw.end() && cfg->is_object()) {
    if (auto it = cfg->find(key); it != cfg->end() && !it->is_null()) {
      return *it;
    }
  }
  for (const ContractLayerType& t : layer_types) {
    if (!describes_text_model(t)) {
      continue;
    }
    // MoE layers name the expert width intermediate_size; a dense MLP's is the model's.
    const bool moe = t.layer_class == "MoELayer" || t.specs.contains("num_experts");
    if (key == "intermediate_size" && moe) {
      continue;
    }
    std::string_view spec_key = key;
    if (key == "moe_intermediate_size") {
      if (!moe) {
        continue;
      }
      spec_key = "intermediate_size";
    }
    if (auto it = t.specs.find(spec_key); it != t.specs.end() && !it->is_null()) {
      return *it;
    }
    if (key == "num_heads") {
      if (auto q = t.specs.find("num_query_heads"); q != t.specs.end() && !q->is_null()) {
        return *q;
      }
    }
  }
  return std::nullopt;
}

Result<Contract> parse_contract(std::string_view file_view, std::string_view text) {
  const std::string file(file_view);
  if (text.size() > k_max_contract_bytes) {
    return bad_input(
        file, fmt::format("{} bytes, over the {} byte limit", text.size(), k_max_contract_bytes));
  }
  Contract c;
  c.file = file;
  c.file_stem = std::filesystem::path(file).stem().string();
  auto raw = parse_json_object<ojson>(file, text);
  if (!raw) {
    return tl::unexpected(raw.error());
  }
  c.raw = std::move(*raw);
  if (auto bad = check_fields(file, c.raw, k_top_fields, "")) {
    return tl::unexpected(*bad);
  }
  auto lt = c.raw.find("layer_types");
  if (lt == c.raw.end() || lt->is_null()) {
    return bad_input(file, "required field 'layer_types' is missing");
  }
  auto ult = c.raw.find("unsupported_layer_types");
  const bool any_unsupported = ult != c.raw.end() && ult->is_array() && !ult->empty();
  if (!lt->is_array() || (lt->empty() && !any_unsupported)) {
    return bad_input(file, "field 'layer_types' must be a non-empty array");
  }
  auto str = [&](const char* key) {
    auto it = c.raw.find(key);
    return it != c.raw.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  c.model_id = str("model_id");
  c.hf_model_id = str("hf_model_id");
  c.revision = str("revision");
  c.name = str("name");
  c.model_type = str("model_type");
  if (auto cfg = c.raw.find("config"); c.model_type.empty() && cfg != c.raw.end()) {
    if (auto mt = cfg->find("model_type"); mt != cfg->end() && mt->is_string()) {
      c.model_type = mt->get<std::string>();
    }
  }
  c.schema_version = c.raw.contains("schema_version") ? c.raw["schema_version"].get<uint64_t>() : 0;
  c.hidden_size = c.raw["hidden_size"].get<uint64_t>();
  c.num_layers = c.raw["num_layers"].get<uint64_t>();
  c.vocab_size = c.raw["vocab_size"].get<uint64_t>();
  c.total_params = c.raw["total_params"].get<uint64_t>();
  if (auto v = c.raw.find("validated"); v != c.raw.end() && v->is_boolean()) {
    c.validated = v->get<bool>();
  }

  // Schema 2 keeps what the estimator cannot load in its own list; both lists are entries.
  for (const char* list : {"layer_types", "unsupported_layer_types"}) {
    auto entries = c.raw.find(list);
    if (entries == c.raw.end() || entries->is_null()) {
      continue;
    }
    if (!entries->is_array()) {
      return bad_input(file, fmt::format("field '{}' must be an array", list));
    }
    const bool unsupported_list = std::string_view(list) == "unsupported_layer_types";
    for (size_t i = 0; i < entries->size(); ++i) {
      const ojson& entry = (*entries)[i];
      const std::string prefix = fmt::format("{}[{}].", list, i);
      if (!entry.is_object()) {
        return bad_input(file, fmt::format("field '{}[{}]' must be an object", list, i));
      }
      if (auto bad = check_fields(file, entry, k_layer_fields, prefix)) {
        return tl::unexpected(*bad);
      }
      auto specs = entry.find("specs");
      if (specs == entry.end() || specs->is_null()) {
        return bad_input(file, fmt::format("required field '{}specs' is missing", prefix));
      }
      if (!specs->is_object()) {
        return bad_input(file, fmt::format("field '{}specs' must be an object", prefix));
      }
      if (auto bad = check_fields(file, *specs, k_spec_fields, prefix + "specs.")) {
        return tl::unexpected(*bad);
      }
      ContractLayerType t;
      t.name = entry["name"].get<std::string>();
      t.layer_class = entry["class"].get<std::string>();
      t.count = entry["count"].get<uint64_t>();
      if (auto s = entry.find("supported"); s != entry.end() && s->is_boolean()) {
        t.supported = s->get<bool>();
      } else if (unsupported_list) {
        t.supported = false;
      }
      t.specs = *specs;
      t.parameter_count = spec_count(*specs, "parameter_count");

      // An impossible architecture is a malformed contract, not a failed check.
      auto heads = spec_count(*specs, "num_heads");
      if (!heads) {
        heads = spec_count(*specs, "num_query_heads");
      }
      const auto kv = spec_count(*specs, "num_kv_heads");
      if (heads && kv && *heads % *kv != 0) {
        return bad_input(file, fmt::format("field '{}specs.num_kv_heads' ({}) does not divide the "
                                           "{} query heads",
                                           prefix, *kv, *heads));
      }
      if (heads && kv && *kv > *heads) {
        return bad_input(file, fmt::format("field '{}specs.num_kv_heads' ({}) exceeds the {} "
                                           "query heads",
                                           prefix, *kv, *heads));
      }
      const auto experts = spec_count(*specs, "num_experts");
      const auto top_k = spec_count(*specs, "top_k");
      if (experts && top_k && *top_k > *experts) {
        return bad_input(file, fmt::format("field '{}specs.top_k' ({}) exceeds num_experts ({})",
                                           prefix, *top_k, *experts));
      }
      c.layer_types.push_back(std::move(t));
    }
  }
  return c;
}

Result<Contract> load_contract(const std::filesystem::path& path) {
  auto bytes = read_small_file(path, k_max_contract_bytes);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  return parse_contract(path.string(), bytes->view());
}

std::vector<ContractCheck> check_contract(const Contract& c, const Catalog& catalog) {
  std::vector<ContractCheck> out;

  // DESIGN.md accounting invariant: Σ count × parameter_count == total_params.
  uint64_t sum = 0;
  bool overflow = false;
  std::vector<std::string> without;
  for (const ContractLayerType& t : c.layer_types) {
    if (!t.parameter_count) {
      without.push_back(t.name);
      continue;
    }
    auto product = checked_mul(t.count, *t.parameter_count);
    auto next = product ? checked_add(sum, *product) : std::nullopt;
    overflow = overflow || !next;
    sum = next.value_or(sum);
  }
  if (!without.empty()) {
    out.push_back({"accounting", ContractCheckStatus::info,
                   fmt::format("{} of {} layer type(s) state no specs.parameter_count ({}): "
                               "Σ count × parameter_count not checked",
                               without.size(), c.layer_types.size(), fmt::join(without, ", "))});
  } else if (overflow) {
    out.push_back(
        {"accounting", ContractCheckStatus::fail, "Σ count × parameter_count overflows 64 bits"});
  } else if (sum == c.total_params) {
    out.push_back({"accounting", ContractCheckStatus::pass,
                   fmt::format("Σ count × parameter_count = total_params = {}", sum)});
  } else {
    out.push_back({"accounting", ContractCheckStatus::fail,
                   fmt::format("Σ count × parameter_count is {} but total_params is {} (off by {})",
                               sum, c.total_params,
                               sum > c.total_params ? fmt::format("+{}", sum - c.total_params)
                                                    : fmt::format("-{}", c.total_params - sum))});
  }

  // Classes: a layer the estimator is told it supports must be one it has.
  std::vector<std::string> unknown, unsupported;
  for (const ContractLayerType& t : c.layer_types) {
    const bool in_catalog = catalog.supports(t.layer_class);
    if (!in_catalog && t.supported.value_or(true)) {
      unknown.push_back(fmt::format("{} ({})", t.layer_class, t.name));
    } else if (!in_catalog) {
      unsupported.push_back(t.layer_class);
    }
  }
  if (!unknown.empty()) {
    out.push_back({"classes", ContractCheckStatus::fail,
                   fmt::format("not in the layer catalog but not marked \"supported\": false: {}",
                               fmt::join(unknown, ", "))});
  } else {
    out.push_back(
        {"classes", ContractCheckStatus::pass,
         unsupported.empty()
             ? fmt::format("all {} layer type(s) use catalog classes", c.layer_types.size())
             : fmt::format("catalog classes, plus {} marked unsupported ({})", unsupported.size(),
                           fmt::join(unsupported, ", "))});
  }

  if (!c.file_stem.empty()) {
    out.push_back(
        {"model_id",
         c.model_id == c.file_stem ? ContractCheckStatus::pass : ContractCheckStatus::fail,
         c.model_id == c.file_stem ? fmt::format("model_id '{}' equals the file stem", c.model_id)
                                   : fmt::format("model_id '{}' differs from the file stem '{}'",
                                                 c.model_id, c.file_stem)});
  }
  if (!c.hf_model_id.empty()) {
    std::string expected = c.hf_model_id;
    std::replace(expected.begin(), expected.end(), '/', '_');
    if (expected != c.model_id) {
      out.push_back({"hf_model_id", ContractCheckStatus::info,
                     fmt::format("model_id '{}' is not hf_model_id '{}' with '/' -> '_'",
                                 c.model_id, c.hf_model_id)});
    }
  }
  if (c.schema_version > k_contract_schema_version) {
    out.push_back({"schema_version", ContractCheckStatus::info,
                   fmt::format("schema_version {} is newer than this mbuild knows ({}): fields "
                               "it does not know were kept but not checked",
                               c.schema_version, k_contract_schema_version)});
  } else {
    out.push_back({"schema_version", ContractCheckStatus::pass,
                   c.schema_version == 0
                       ? std::string("no schema_version: read as a hand-written contract")
                       : fmt::format("schema_version {}", c.schema_version)});
  }
  return out;
}

}  // namespace mbuild
