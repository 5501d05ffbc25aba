#include "mbuild/arch/family_contract.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>
#include <muParser.h>
#include <yaml-cpp/yaml.h>

namespace mbuild {

// The YAML sources compiled in by CMake (cmake/embed_contracts.cmake): name and text per file.
struct EmbeddedContract {
  const char* name;
  const char* text;
};
extern const EmbeddedContract k_embedded_contracts[];
extern const size_t k_embedded_contract_count;

namespace {

constexpr size_t k_max_echo = 80;

// A fault at a YAML node: "file:LINE: key: why" (yaml-cpp counts lines from 0).
struct Fault {
  std::string file;
  Error at(const YAML::Node& node, std::string_view key, std::string_view why) const {
    const YAML::Mark m = node.Mark();
    const std::string where = m.is_null() ? file : fmt::format("{}:{}", file, m.line + 1);
    return Error(ErrorKind::bad_input, where, fmt::format("{}: {}", key, why));
  }
};

// A scalar's text; empty for an absent key (yaml-cpp's operator[] on a const node gives an
// invalid node, which throws when asked anything but its truth value).
std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

// Booleans as YAML writes them, quoted or not ("true", "True", "yes", ...).
std::optional<bool> as_bool(const YAML::Node& n) {
  if (!n.IsScalar()) {
    return std::nullopt;
  }
  std::string s = n.Scalar();
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "true" || s == "yes" || s == "on") {
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    return false;
  }
  return std::nullopt;
}

std::optional<double> as_number(const YAML::Node& n) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  size_t used = 0;
  try {
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) {
      return std::nullopt;
    }
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

template <class Enum, size_t N>
Result<std::optional<Enum>> parse_enum(const Fault& f, const YAML::Node& n, std::string_view key,
                                       const std::pair<std::string_view, Enum> (&table)[N]) {
  if (!n || n.IsNull()) {
    return std::optional<Enum>();
  }
  std::string s = scalar(n);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [name, value] : table) {
    if (s == name) {
      return std::optional<Enum>(value);
    }
  }
  std::vector<std::string_view> names;
  for (const auto& entry : table) {
    names.push_back(entry.first);
  }
  return tl::unexpected(f.at(n, key,
                             fmt::format("unknown value '{}' (one of: {})",
                                         excerpt(scalar(n), k_max_echo), fmt::join(names, ", "))));
}

constexpr std::pair<std::string_view, AttentionType> k_attention[] = {
    {"mha", AttentionType::mha},      {"gqa", AttentionType::gqa},
    {"mqa", AttentionType::mqa},      {"mla", AttentionType::mla},
    {"ssm", AttentionType::ssm},      {"linear", AttentionType::linear},
    {"hybrid", AttentionType::hybrid}};
constexpr std::pair<std::string_view, MlpType> k_mlp[] = {
    {"swiglu", MlpType::swiglu},     {"gated_mlp", MlpType::gated_mlp},
    {"geglu", MlpType::gated_mlp},   {"gelu_mlp", MlpType::gelu_mlp},
    {"relu_mlp", MlpType::relu_mlp}, {"moe", MlpType::moe},
    {"none", MlpType::none}};
constexpr std::pair<std::string_view, NormType> k_norm[] = {{"rmsnorm", NormType::rmsnorm},
                                                            {"layernorm", NormType::layernorm}};
constexpr std::pair<std::string_view, PositionalEncoding> k_positions[] = {
    {"rope", PositionalEncoding::rope},
    {"absolute", PositionalEncoding::absolute},
    {"alibi", PositionalEncoding::alibi},
    {"relative", PositionalEncoding::relative},
    {"none", PositionalEncoding::none}};
constexpr std::pair<std::string_view, Activation> k_activations[] = {
    {"silu", Activation::silu},
    {"swish", Activation::silu},
    {"gelu", Activation::gelu},
    {"gelu_tanh", Activation::gelu_tanh},
    {"gelu_pytorch_tanh", Activation::gelu_tanh},
    {"relu", Activation::relu},
    {"none", Activation::none}};

template <class Enum, size_t N>
std::string_view name_in(const std::pair<std::string_view, Enum> (&table)[N], Enum v) {
  for (const auto& [name, value] : table) {
    if (value == v) {
      return name;
    }
  }
  return "?";
}

// Size-variant keys and the names config.json (and some contracts) use for them.
constexpr std::pair<std::string_view, std::string_view> k_dim_aliases[] = {
    {"hidden_size", "hidden_dim"},
    {"num_hidden_layers", "num_layers"},
    {"num_attention_heads", "num_heads"},
    {"num_key_value_heads", "num_kv_heads"},
    {"intermediate_size", "intermediate_dim"},
    {"max_seq_len", "max_position_embeddings"},
    {"rms_norm_eps", "norm_eps"},
    {"layer_norm_eps", "norm_eps"},
};

constexpr std::string_view k_required_dims[] = {"hidden_dim", "num_layers", "vocab_size"};

Result<SizeVariant> parse_variant(const Fault& f, const std::string& name, const YAML::Node& n) {
  if (!n.IsMap()) {
    return tl::unexpected(f.at(n, "size_variants." + name, "must be a mapping"));
  }
  SizeVariant v;
  v.name = name;
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    for (const auto& [alias, canonical] : k_dim_aliases) {
      if (key == alias) {
        key = canonical;
      }
    }
    const std::string at = fmt::format("size_variants.{}.{}", name, key);
    if (key == "parameters") {
      v.parameters = scalar(kv.second);
      continue;
    }
    if (kv.second.IsNull()) {
      continue;
    }
    if (key == "tied_embeddings") {
      v.tied_embeddings = as_bool(kv.second);
      if (!v.tied_embeddings) {
        return tl::unexpected(f.at(kv.second, at, "must be a boolean"));
      }
      continue;
    }
    const auto number = as_number(kv.second);
    if (!number) {
      return tl::unexpected(f.at(kv.second, at, "must be a number"));
    }
    if (key == "rope_theta") {
      v.rope_theta = *number;
    } else if (key == "norm_eps") {
      v.norm_eps = *number;
    } else {
      if (*number < 0 || std::floor(*number) != *number) {
        return tl::unexpected(f.at(kv.second, at, "must be a non-negative integer"));
      }
      v.dims[key] = *number;
    }
  }
  for (std::string_view key : k_required_dims) {
    if (!v.dims.contains(key)) {
      return tl::unexpected(
          f.at(n, fmt::format("size_variants.{}.{}", name, key), "required key is missing"));
    }
  }
  // The seed's defaults: MHA unless stated, head_dim from hidden_dim / num_heads.
  if (v.dims.contains("num_heads")) {
    if (!v.dims.contains("num_kv_heads")) {
      v.dims["num_kv_heads"] = v.dims["num_heads"];
    }
    const double heads = v.dims["num_heads"];
    if (!v.dims.contains("head_dim") && heads > 0) {
      v.dims["head_dim"] = std::floor(v.dims["hidden_dim"] / heads);
    }
  }
  return v;
}

Result<std::optional<bool>> parse_flag(const Fault& f, const YAML::Node& n, std::string_view key) {
  if (!n || n.IsNull()) {
    return std::optional<bool>();
  }
  auto b = as_bool(n);
  if (!b) {
    return tl::unexpected(f.at(n, key, "must be a boolean"));
  }
  return std::optional<bool>(*b);
}

Result<FamilyConstraints> parse_constraints(const Fault& f, const YAML::Node& n) {
  FamilyConstraints c;
  if (!n || n.IsNull()) {
    return c;
  }
  if (!n.IsMap()) {
    return tl::unexpected(f.at(n, "constraints", "must be a mapping"));
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string at = "constraints." + key;
    const YAML::Node& v = kv.second;
    Result<void> ok;
    auto take = [&](auto parsed, auto& into) {
      if (!parsed) {
        ok = tl::unexpected(parsed.error());
      } else {
        into = *parsed;
      }
    };
    if (key == "attention_type") {
      take(parse_enum(f, v, at, k_attention), c.attention_type);
    } else if (key == "activation") {
      take(parse_enum(f, v, at, k_activations), c.activation);
    } else if (key == "norm_type") {
      take(parse_enum(f, v, at, k_norm), c.norm_type);
    } else if (key == "positional_encoding") {
      take(parse_enum(f, v, at, k_positions), c.positional_encoding);
    } else if (key == "mlp_type") {
      take(parse_enum(f, v, at, k_mlp), c.mlp_type);
    } else if (key == "has_bias") {
      take(parse_flag(f, v, at), c.has_bias);
    } else if (key == "tied_embeddings") {
      take(parse_flag(f, v, at), c.tied_embeddings);
    } else if (key == "qk_norm") {
      take(parse_flag(f, v, at), c.qk_norm);
    } else {
      c.other[key] = v.IsScalar() ? v.Scalar() : std::string("<structured>");
    }
    if (!ok) {
      return tl::unexpected(ok.error());
    }
  }
  return c;
}

// A role's name: a string, null (the family has none), or {name, layers}.
Result<TensorRoleTemplate> parse_role(const Fault& f, const std::string& at,
                                      const std::string& role, const YAML::Node& n) {
  TensorRoleTemplate t;
  t.role = role;
  if (n.IsNull()) {
    return t;
  }
  if (n.IsScalar()) {
    t.name = n.Scalar();
    return t;
  }
  if (n.IsMap() && n["name"]) {
    t.name = scalar(n["name"]);
    if (n["layers"]) {
      t.layers = scalar(n["layers"]);
      constexpr std::string_view k_layers[] = {
          "all",        "first", "full_attention", "attention",     "linear_attention", "mamba",
          "short_conv", "moe",   "dense",          "sparse_indexer"};
      if (std::find(std::begin(k_layers), std::end(k_layers), t.layers) == std::end(k_layers)) {
        return tl::unexpected(
            f.at(n["layers"], at + ".layers",
                 fmt::format("'{}' is not all, first, full_attention, linear_attention, mamba, "
                             "short_conv, moe, dense or sparse_indexer",
                             excerpt(t.layers))));
      }
    }
    return t;
  }
  return tl::unexpected(f.at(n, at, "must be a tensor name, null, or {name, layers}"));
}

Result<TensorTemplate> parse_tensor_template(const Fault& f, const YAML::Node& n) {
  TensorTemplate t;
  if (!n.IsMap()) {
    return tl::unexpected(f.at(n, "tensor_template", "must be a mapping"));
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string at = "tensor_template." + key;
    if (key == "per_layer" || key == "global") {
      if (!kv.second.IsMap()) {
        return tl::unexpected(f.at(kv.second, at, "must be a mapping of role to tensor name"));
      }
      for (const auto& r : kv.second) {
        const std::string role = r.first.as<std::string>();
        auto parsed = parse_role(f, at + "." + role, role, r.second);
        if (!parsed) {
          return tl::unexpected(parsed.error());
        }
        (key == "per_layer" ? t.per_layer : t.global).push_back(std::move(*parsed));
      }
      continue;
    }
    if (!kv.second.IsNull() && !kv.second.IsScalar()) {
      return tl::unexpected(f.at(kv.second, at, "must be a tensor name or null"));
    }
    std::optional<std::string> name;
    if (!kv.second.IsNull()) {
      name = kv.second.Scalar();
    }
    if (key == "embedding") {
      t.embedding = name;
    } else if (key == "lm_head") {
      t.lm_head = name;
    } else if (key == "final_norm") {
      t.final_norm = name;
    } else {
      t.global.push_back({key, name, "all"});
    }
  }
  return t;
}

Result<std::vector<std::string>> parse_strings(const Fault& f, const YAML::Node& n,
                                               std::string_view key) {
  std::vector<std::string> out;
  if (!n || n.IsNull()) {
    return out;
  }
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) {
    return tl::unexpected(f.at(n, key, "must be a list of strings"));
  }
  for (const auto& e : n) {
    if (!e.IsScalar()) {
      return tl::unexpected(f.at(e, key, "must be a list of strings"));
    }
    out.push_back(e.Scalar());
  }
  return out;
}

Result<FamilyContract> parse_document(const Fault& f, const YAML::Node& root) {
  if (!root.IsMap()) {
    return tl::unexpected(f.at(root, "(document)", "must be a mapping"));
  }
  FamilyContract c;
  c.file = f.file;
  for (std::string_view key : {"family", "architectures", "size_variants", "tensor_template"}) {
    if (!root[std::string(key)]) {
      return tl::unexpected(f.at(root, key, "required key is missing"));
    }
  }
  if (!root["family"].IsScalar() || root["family"].Scalar().empty()) {
    return tl::unexpected(f.at(root["family"], "family", "must be a non-empty string"));
  }
  c.family = root["family"].Scalar();
  c.display_name = scalar(root["display_name"]);
  c.vendor = scalar(root["vendor"]);
  c.hf_pattern = scalar(root["hf_pattern"]);
  auto archs = parse_strings(f, root["architectures"], "architectures");
  if (!archs) {
    return tl::unexpected(archs.error());
  }
  c.architectures = std::move(*archs);
  auto types = parse_strings(f, root["model_types"], "model_types");
  if (!types) {
    return tl::unexpected(types.error());
  }
  c.model_types = std::move(*types);

  const YAML::Node variants = root["size_variants"];
  if (!variants.IsMap() || variants.size() == 0) {
    return tl::unexpected(f.at(variants, "size_variants", "must be a non-empty mapping"));
  }
  for (const auto& kv : variants) {
    auto v = parse_variant(f, kv.first.as<std::string>(), kv.second);
    if (!v) {
      return tl::unexpected(v.error());
    }
    c.size_variants.push_back(std::move(*v));
  }
  auto constraints = parse_constraints(f, root["constraints"]);
  if (!constraints) {
    return tl::unexpected(constraints.error());
  }
  c.constraints = std::move(*constraints);
  auto tensors = parse_tensor_template(f, root["tensor_template"]);
  if (!tensors) {
    return tl::unexpected(tensors.error());
  }
  c.tensors = std::move(*tensors);
  if (const YAML::Node shapes = root["shape_template"]; shapes && !shapes.IsNull()) {
    if (!shapes.IsMap()) {
      return tl::unexpected(f.at(shapes, "shape_template", "must be a mapping"));
    }
    for (const auto& kv : shapes) {
      const std::string role = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return tl::unexpected(
            f.at(kv.second, "shape_template." + role, "must be a string like \"[a, b]\""));
      }
      // A shape must evaluate with a variant's dims; checking it here names the line.
      auto probe = evaluate_shape(f.file, kv.second.Scalar(), c.size_variants.front().dims);
      if (!probe) {
        return tl::unexpected(f.at(kv.second, "shape_template." + role, probe.error().why));
      }
      c.shape_template[role] = kv.second.Scalar();
    }
  }
  auto quants = parse_strings(f, root["quantizations"], "quantizations");
  if (!quants) {
    return tl::unexpected(quants.error());
  }
  c.quantizations = std::move(*quants);
  c.has_gguf_template = static_cast<bool>(root["gguf_tensor_template"]);
  c.has_chat_template = static_cast<bool>(root["chat_template"]);
  c.has_certification = static_cast<bool>(root["certification"]);
  return c;
}

// Splits "[a, f(b, c)]" into its top-level expressions.
std::optional<std::vector<std::string>> split_shape(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return std::nullopt;
  }
  text = text.substr(1, text.size() - 2);
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char ch : text) {
    if (ch == '(') {
      ++depth;
    } else if (ch == ')') {
      --depth;
    }
    if (ch == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
    } else {
      current += ch;
    }
  }
  if (!current.empty() || !parts.empty()) {
    parts.push_back(current);
  }
  return parts;
}

}  // namespace

std::optional<uint64_t> SizeVariant::dim(std::string_view key) const {
  if (auto it = dims.find(key); it != dims.end()) {
    return static_cast<uint64_t>(it->second);
  }
  return std::nullopt;
}

const SizeVariant* FamilyContract::variant(std::string_view name) const {
  for (const SizeVariant& v : size_variants) {
    if (v.name == name) {
      return &v;
    }
  }
  return nullptr;
}

std::string_view enum_name(AttentionType v) {
  return name_in(k_attention, v);
}
std::string_view enum_name(MlpType v) {
  return name_in(k_mlp, v);
}
std::string_view enum_name(NormType v) {
  return name_in(k_norm, v);
}
std::string_view enum_name(PositionalEncoding v) {
  return name_in(k_positions, v);
}
std::string_view enum_name(Activation v) {
  return name_in(k_activations, v);
}

Result<FamilyContract> parse_family_contract(std::string_view file, std::string_view text) {
  const Fault f{std::string(file)};
  if (text.size() > k_max_family_contract_bytes) {
    return tl::unexpected(Error(ErrorKind::bad_input, f.file,
                                fmt::format("larger than {} bytes", k_max_family_contract_bytes)));
  }
  // yaml-cpp reports every fault by exception: syntax errors carry the line, as do conversion
  // errors of scalars; both end here as one bad-input line.
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return parse_document(f, root);
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.is_null() ? f.file : fmt::format("{}:{}", f.file, e.mark.line + 1);
    return tl::unexpected(
        Error(ErrorKind::bad_input, where, "not valid YAML: " + excerpt(e.msg, k_max_echo)));
  }
}

Result<std::vector<FamilyContract>> load_family_contracts(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    const std::string ext = p.extension().string();
    if (name.starts_with("_") || (ext != ".yaml" && ext != ".yml") || !it->is_regular_file()) {
      continue;
    }
    files.push_back(p);
  }
  if (ec) {
    return tl::unexpected(Error(ErrorKind::not_found, dir.string(),
                                "cannot read the contracts folder: " + ec.message()));
  }
  std::sort(files.begin(), files.end());
  std::vector<FamilyContract> out;
  for (const fs::path& p : files) {
    std::ifstream in(p, std::ios::binary);
    std::string text;
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    if (!in) {
      return tl::unexpected(Error(ErrorKind::not_found, p.string(), "cannot read the file"));
    }
    auto c = parse_family_contract(p.string(), text);
    if (!c) {
      return tl::unexpected(c.error());
    }
    out.push_back(std::move(*c));
  }
  return out;
}

const std::vector<FamilyContract>& builtin_family_contracts() {
  // Parsed once; the build checks every embedded file parses (tests), so a failure here is a
  // build defect and the file is left out rather than failing every command.
  static const std::vector<FamilyContract> contracts = [] {
    std::vector<FamilyContract> out;
    for (size_t i = 0; i < k_embedded_contract_count; ++i) {
      auto c = parse_family_contract(std::string("<built-in>/") + k_embedded_contracts[i].name,
                                     k_embedded_contracts[i].text);
      if (c) {
        out.push_back(std::move(*c));
      }
    }
    return out;
  }();
  return contracts;
}

Result<std::vector<uint64_t>> evaluate_shape(
    std::string_view what, std::string_view expression,
    const std::map<std::string, double, std::less<>>& dims) {
  const auto parts = split_shape(expression);
  if (!parts) {
    return tl::unexpected(
        Error(ErrorKind::bad_input, std::string(what),
              fmt::format("shape '{}' is not a bracketed list", excerpt(expression, k_max_echo))));
  }
  std::vector<uint64_t> shape;
  for (const std::string& part : *parts) {
    double v = 0;
    try {
      mu::Parser parser;
      for (const auto& [name, value] : dims) {
        parser.DefineConst(name, value);
      }
      parser.SetExpr(part);
      v = parser.Eval();
    } catch (const mu::Parser::exception_type& e) {
      return tl::unexpected(Error(ErrorKind::bad_input, std::string(what),
                                  fmt::format("cannot evaluate '{}': {}", excerpt(part, k_max_echo),
                                              excerpt(e.GetMsg(), k_max_echo))));
    }
    if (!std::isfinite(v) || v < 0 || std::floor(v) != v || v > 9.0e15) {
      return tl::unexpected(Error(
          ErrorKind::bad_input, std::string(what),
          fmt::format("'{}' is {}, not a non-negative integer", excerpt(part, k_max_echo), v)));
    }
    shape.push_back(static_cast<uint64_t>(v));
  }
  return shape;
}

}  // namespace mbuild
