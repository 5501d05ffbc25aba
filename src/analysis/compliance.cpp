#include "mbuild/analysis/compliance.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "mbuild/analysis/explain.hpp"
#include "mbuild/arch/family.hpp"
#include "util/format.hpp"

namespace mbuild {
namespace {

using Dims = std::map<std::string, double, std::less<>>;

// Contract dim names and the config.json names they stand for (after the family alias table
// for the first few; the rest are read as config.json spells them, text part first).
struct DimSource {
  std::string_view dim;
  std::string_view canonical;  // ModelConfig::count name, or empty
  std::string_view raw_names;  // config.json names, space separated
};
constexpr DimSource k_dim_sources[] = {
    {"hidden_dim", "hidden_size", ""},
    {"num_layers", "num_layers", ""},
    {"num_heads", "num_heads", ""},
    {"num_kv_heads", "num_kv_heads", ""},
    {"head_dim", "head_dim", ""},
    {"intermediate_dim", "intermediate_size", ""},
    {"vocab_size", "vocab_size", ""},
    {"max_position_embeddings", "max_position_embeddings", ""},
    {"num_experts", "", "num_experts num_local_experts n_routed_experts"},
    {"num_experts_per_tok", "", "num_experts_per_tok"},
    {"moe_intermediate_dim", "", "moe_intermediate_size"},
    {"shared_expert_intermediate_dim", "", "shared_expert_intermediate_size"},
    {"num_shared_experts", "", "n_shared_experts num_shared_experts"},
    {"kv_lora_rank", "", "kv_lora_rank"},
    {"q_lora_rank", "", "q_lora_rank"},
    {"qk_rope_head_dim", "", "qk_rope_head_dim"},
    {"qk_nope_head_dim", "", "qk_nope_head_dim"},
    {"v_head_dim", "", "v_head_dim"},
    {"linear_num_key_heads", "", "linear_num_key_heads"},
    {"linear_num_value_heads", "", "linear_num_value_heads"},
    {"linear_key_head_dim", "", "linear_key_head_dim"},
    {"linear_value_head_dim", "", "linear_value_head_dim"},
    {"linear_conv_kernel_dim", "", "linear_conv_kernel_dim"},
    {"state_size", "", "state_size"},
    {"conv_kernel", "", "conv_kernel"},
    {"time_step_rank", "", "time_step_rank"},
    {"num_decoder_layers", "", "num_decoder_layers"},
    {"relative_attention_num_buckets", "", "relative_attention_num_buckets"},
    {"type_vocab_size", "", "type_vocab_size"},
};

std::optional<double> config_dim(const ModelConfig& c, const DimSource& s) {
  // The normalised fields first: kv heads default to heads, head_dim to hidden / heads.
  using Member = std::optional<uint64_t> ModelConfig::*;
  constexpr std::pair<std::string_view, Member> k_members[] = {
      {"hidden_size", &ModelConfig::hidden_size},
      {"num_layers", &ModelConfig::num_layers},
      {"num_heads", &ModelConfig::num_heads},
      {"num_kv_heads", &ModelConfig::num_kv_heads},
      {"head_dim", &ModelConfig::head_dim},
      {"intermediate_size", &ModelConfig::intermediate_size},
      {"vocab_size", &ModelConfig::vocab_size},
      {"max_position_embeddings", &ModelConfig::max_position_embeddings},
  };
  if (!s.canonical.empty()) {
    for (const auto& [name, member] : k_members) {
      if (name == s.canonical && c.*member) {
        return static_cast<double>(*(c.*member));
      }
    }
    return std::nullopt;
  }
  size_t start = 0;
  const std::string_view names = s.raw_names;
  while (start < names.size()) {
    size_t end = names.find(' ', start);
    end = end == std::string_view::npos ? names.size() : end;
    const std::string key(names.substr(start, end - start));
    for (const nlohmann::json* obj : {&c.text, &c.raw}) {
      if (obj->is_object()) {
        if (auto it = obj->find(key); it != obj->end() && it->is_number()) {
          return it->get<double>();
        }
      }
    }
    start = end + 1;
  }
  return std::nullopt;
}

// Every dim config.json states, under the contract's names.
Dims dims_from_config(const ModelConfig& c) {
  Dims d;
  for (const DimSource& s : k_dim_sources) {
    if (auto v = config_dim(c, s)) {
      d[std::string(s.dim)] = *v;
    }
  }
  return d;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// A tensor as compliance sees it: quantized containers under the name of the weight they hold
// (GPTQ/AWQ `qweight`, compressed-tensors `weight_packed`), shapes checked only for plain
// parameters.
struct FoundTensor {
  const TensorInfo* info = nullptr;
  bool shape_checkable = false;
};

std::string normalised_name(std::string_view name) {
  std::string s(name);
  for (std::string_view suffix : {".qweight", ".weight_packed"}) {
    if (s.ends_with(suffix)) {
      s.replace(s.size() - suffix.size(), suffix.size(), ".weight");
    }
  }
  return s;
}

// The layers a per-layer role applies to.
bool layer_selected(const TensorRoleTemplate& r, const ModelConfig& c, size_t layer) {
  if (r.layers == "all") {
    return true;
  }
  if (r.layers == "first") {
    return layer == 0;
  }
  const MixerKind mixer =
      layer < c.layer_attention.size() ? c.layer_attention[layer] : MixerKind::full_attention;
  const FfnKind ffn = layer < c.layer_mlp.size() ? c.layer_mlp[layer]
                                                 : (c.is_moe() ? FfnKind::moe : FfnKind::dense);
  if (r.layers == "full_attention" || r.layers == "attention") {
    return keeps_kv(mixer);
  }
  if (r.layers == "linear_attention") {
    return mixer == MixerKind::linear_attention;
  }
  if (r.layers == "mamba") {
    return mixer == MixerKind::mamba || mixer == MixerKind::attention_mamba;
  }
  if (r.layers == "short_conv") {
    return mixer == MixerKind::short_conv;
  }
  if (r.layers == "moe") {
    return ffn == FfnKind::moe;
  }
  if (r.layers == "sparse_indexer") {  // DSA layers with a lightning indexer of their own
    return mixer == MixerKind::sparse_attention &&
           (layer >= c.layer_indexer.size() || c.layer_indexer[layer]);
  }
  if (r.layers == "dense") {
    return ffn == FfnKind::dense;
  }
  return false;
}

struct Expected {
  std::string role;
  const std::string* expression = nullptr;  // the role's shape template, when it has one
};

std::string attention_of(const ModelConfig& c) {
  if (c.count("kv_lora_rank")) {
    return "mla";
  }
  bool linear = false, softmax = false, ssm = false;
  for (MixerKind k : c.layer_attention) {
    linear = linear || k == MixerKind::linear_attention;
    softmax = softmax || keeps_kv(k);
    ssm = ssm || k == MixerKind::mamba || k == MixerKind::attention_mamba ||
          k == MixerKind::short_conv;
  }
  if (ssm && !softmax) {
    return "ssm";
  }
  if ((linear || ssm) && softmax) {
    return "hybrid";
  }
  if (linear) {
    return "linear";
  }
  const uint64_t heads = c.num_heads.value_or(0);
  const uint64_t kv = c.num_kv_heads.value_or(heads);
  if (kv == 1 && heads > 1) {
    return "mqa";
  }
  return kv == heads ? "mha" : "gqa";
}

bool any_name(const std::vector<std::string>& names, std::initializer_list<std::string_view> keys,
              std::string* which) {
  for (const std::string& n : names) {
    for (std::string_view k : keys) {
      if (n.find(k) != std::string::npos || (k.front() == '$' && n.ends_with(k.substr(1)))) {
        if (which) {
          *which = n;
        }
        return true;
      }
    }
  }
  return false;
}

// A q/k norm of the attention: the norm of a DSA lightning indexer's key
// (self_attn.indexer.k_norm, a LayerNorm) is the indexer's, not one of the attention.
bool qk_norm_name(const std::vector<std::string>& names, std::string* which) {
  for (const std::string& n : names) {
    if (n.find(".indexer.") == std::string::npos &&
        any_name({n}, {"q_norm.", "k_norm.", "q_layernorm.", "k_layernorm."}, which)) {
      return true;
    }
  }
  return false;
}

// The activation as config.json names it (the first of these keys it states), and the
// contract's name for it when it is one a contract can name.
struct NamedActivation {
  std::optional<Activation> value;
  std::string key;  // "hidden_act", ...
  std::string raw;  // as written ("gelu_pytorch_tanh")
};

NamedActivation activation_of(const ModelConfig& c) {
  // T5 names its feed-forward activation dense_act_fn, or only feed_forward_proj
  // ("gated-gelu", which transformers runs as gelu_new).
  constexpr std::string_view k_keys[] = {"hidden_act", "hidden_activation", "activation_function",
                                         "dense_act_fn", "feed_forward_proj"};
  constexpr std::pair<std::string_view, Activation> k_names[] = {
      {"silu", Activation::silu},
      {"swish", Activation::silu},
      {"gelu", Activation::gelu},
      {"gelu_python", Activation::gelu},
      {"gelu_new", Activation::gelu_tanh},
      {"gelu_pytorch_tanh", Activation::gelu_tanh},
      {"gelu_fast", Activation::gelu_tanh},
      {"gelu_tanh", Activation::gelu_tanh},
      {"gated-gelu", Activation::gelu_tanh},
      {"relu", Activation::relu},
  };
  NamedActivation out;
  for (std::string_view key : k_keys) {
    if (const nlohmann::json* v = c.find(key); v && v->is_string()) {
      out.key = key;
      out.raw = v->get<std::string>();
      break;
    }
  }
  for (const auto& [name, value] : k_names) {
    if (out.raw == name) {
      out.value = value;
    }
  }
  return out;
}

PositionalEncoding positional_encoding_of(const PositionFacts& p) {
  if (p.kind == "none") {
    return PositionalEncoding::none;
  }
  if (p.kind == "ALiBi") {
    return PositionalEncoding::alibi;
  }
  if (p.kind == "learned absolute") {
    return PositionalEncoding::absolute;
  }
  if (p.kind.starts_with("relative")) {
    return PositionalEncoding::relative;
  }
  return PositionalEncoding::rope;
}

const FamilyContract* find_family(const std::vector<FamilyContract>& registry,
                                  std::string_view name) {
  for (const FamilyContract& f : registry) {
    if (f.family == name) {
      return &f;
    }
  }
  return nullptr;
}

// Template names with the layer and expert indices filled in, for layer 0 only: how much of a
// contract a checkpoint holds, to detect the family from tensors alone.
double template_score(const FamilyContract& f, const std::set<std::string>& found,
                      std::string_view prefix) {
  size_t want = 0, have = 0;
  auto probe = [&](const std::optional<std::string>& name) {
    if (!name) {
      return;
    }
    std::string s = std::string(prefix) + *name;
    replace_all(s, "{n}", "0");
    replace_all(s, "{e}", "0");
    ++want;
    have += found.contains(s) ? 1U : 0U;
  };
  probe(f.tensors.embedding);
  probe(f.tensors.final_norm);
  for (const TensorRoleTemplate& r : f.tensors.per_layer) {
    if (r.layers == "all") {
      probe(r.name);
    }
  }
  return want == 0 ? 0.0 : static_cast<double>(have) / static_cast<double>(want);
}

// Where a wrapped checkpoint keeps the family's tensors ("language_model." in a multimodal
// one): the part before the embedding's template name, when the plain name is absent.
std::string find_prefix(const FamilyContract& f, const std::set<std::string>& found) {
  std::optional<std::string> anchor = f.tensors.embedding;
  if (!anchor) {
    for (const TensorRoleTemplate& r : f.tensors.per_layer) {
      if (r.name && r.layers == "all") {
        anchor = *r.name;
        replace_all(*anchor, "{n}", "0");
        break;
      }
    }
  }
  if (!anchor || found.contains(*anchor)) {
    return {};
  }
  const std::string tail = "." + *anchor;
  for (const std::string& n : found) {
    if (n.ends_with(tail)) {
      return n.substr(0, n.size() - anchor->size());
    }
  }
  return {};
}

void push_listed(std::vector<std::string>& list, const std::string& name) {
  if (list.size() < k_max_listed_tensors) {
    list.push_back(name);
  }
}

}  // namespace

Contract contract_from_family(const FamilyContract& family, const SizeVariant& variant) {
  Contract c;
  c.file = family.file;
  c.model_id = family.family + "/" + variant.name;
  nlohmann::ordered_json raw;
  constexpr std::pair<std::string_view, std::string_view> k_fields[] = {
      {"hidden_dim", "hidden_size"},
      {"num_layers", "num_layers"},
      {"num_heads", "num_heads"},
      {"num_kv_heads", "num_kv_heads"},
      {"head_dim", "head_dim"},
      {"intermediate_dim", "intermediate_size"},
      {"vocab_size", "vocab_size"},
      {"max_position_embeddings", "max_position_embeddings"},
      {"num_experts", "num_experts"},
      {"num_experts_per_tok", "top_k"},
      {"moe_intermediate_dim", "moe_intermediate_size"},
      {"num_shared_experts", "num_shared_experts"},
      {"kv_lora_rank", "kv_lora_rank"},
      {"q_lora_rank", "q_lora_rank"},
      {"qk_rope_head_dim", "qk_rope_head_dim"},
  };
  for (const auto& [dim, field] : k_fields) {
    if (auto v = variant.dim(dim)) {
      raw[std::string(field)] = *v;
    }
  }
  // MoE families without a separate expert width size their experts with intermediate_dim.
  if (variant.dim("num_experts") && !variant.dim("moe_intermediate_dim")) {
    if (auto v = variant.dim("intermediate_dim")) {
      raw["moe_intermediate_size"] = *v;
    }
  }
  if (variant.rope_theta) {
    raw["rope_theta"] = *variant.rope_theta;
  }
  if (variant.norm_eps) {
    raw["norm_eps"] = *variant.norm_eps;
  }
  const std::optional<bool> tied =
      variant.tied_embeddings ? variant.tied_embeddings : family.constraints.tied_embeddings;
  if (tied) {
    raw["tie_word_embeddings"] = *tied;
  }
  c.hidden_size = variant.dim("hidden_dim").value_or(0);
  c.num_layers = variant.dim("num_layers").value_or(0);
  c.vocab_size = variant.dim("vocab_size").value_or(0);
  c.raw = std::move(raw);
  return c;
}

Result<FamilyReport> check_family(const Model& model, const ParamCount& params,
                                  const std::vector<FamilyContract>& registry,
                                  std::string_view family, std::string_view size) {
  FamilyReport r;
  static const ModelConfig k_no_config;
  const ModelConfig& cfg = model.config ? *model.config : k_no_config;

  const bool has_tensors = !model.tensors.empty();
  // The tensors compliance reads: the language model's (vision towers and MTP heads are not
  // part of a text family's template), quantization auxiliaries left out.
  std::set<std::string> found;
  std::unordered_map<std::string, FoundTensor> by_name;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorClass& cls = params.classes[i];
    if (cls.role == TensorRole::quant_aux || is_multimodal(cls.component) ||
        cls.component == Component::mtp) {
      continue;
    }
    std::string name = normalised_name(model.tensors[i].name);
    by_name[name] = {&model.tensors[i],
                     cls.role == TensorRole::parameter || cls.role == TensorRole::buffer};
    found.insert(std::move(name));
  }

  // The family.
  const FamilyContract* f = nullptr;
  if (family != "auto" && !family.empty()) {
    f = find_family(registry, family);
    if (!f) {
      std::vector<std::string_view> names;
      for (const FamilyContract& c : registry) {
        names.push_back(c.family);
      }
      return tl::unexpected(Error(ErrorKind::usage, "--family",
                                  fmt::format("no contract for '{}' (known: {})", excerpt(family),
                                              fmt::join(names, ", "))));
    }
    r.detected_by = "--family";
  }
  for (const std::string& mt : {cfg.model_type, cfg.root_model_type}) {
    for (const FamilyContract& c : registry) {
      if (!f && !mt.empty() && (c.family == mt || contains(c.model_types, mt))) {
        f = &c;
        r.detected_by = "model_type";
      }
    }
  }
  for (const FamilyContract& c : registry) {
    for (const std::string& a : cfg.architectures) {
      if (!f && contains(c.architectures, a)) {
        f = &c;
        r.detected_by = "architectures";
      }
    }
  }
  // A family mbuild knows by its model_type (MiniMax-M2, Qwen3-VL, ...) that has no contract is
  // not another family whose tensor names it shares (block_sparse_moe is not Mixtral): the
  // tensor match is for model types mbuild does not know.
  const bool known_type = !family_traits(cfg.model_type).model_type.empty() ||
                          !family_traits(cfg.root_model_type).model_type.empty();
  if (!f && !found.empty() && !known_type) {
    double best = 0;
    for (const FamilyContract& c : registry) {
      const double s = template_score(c, found, find_prefix(c, found));
      if (s > best) {
        best = s;
        f = &c;
      }
    }
    // Most of a layer's names must be there: a shared `model.norm.weight` is not a family.
    if (best < 0.8) {
      f = nullptr;
    } else {
      r.detected_by = fmt::format("tensors ({:.0f} % of the template)", best * 100);
    }
  }
  if (!f) {
    r.notes.push_back(
        "no family contract matches this model's model_type, architectures or "
        "tensor names");
    return r;
  }
  r.family = f->family;
  r.contract_file = f->file;

  // The size variant, and whether what states it agrees with config.json.
  const Dims config_dims = dims_from_config(cfg);
  const SizeVariant* v = nullptr;
  if (!size.empty()) {
    v = f->variant(size);
    if (!v) {
      std::vector<std::string_view> names;
      for (const SizeVariant& s : f->size_variants) {
        names.push_back(s.name);
      }
      return tl::unexpected(Error(ErrorKind::usage, "--size",
                                  fmt::format("{} has no size variant '{}' (known: {})", f->family,
                                              excerpt(size), fmt::join(names, ", "))));
    }
    r.size_by = "--size";
    for (const auto& [key, value] : v->dims) {
      auto it = config_dims.find(key);
      if (it != config_dims.end() && it->second != value) {
        r.conflicts.push_back({key, fmt::format("{}", value), fmt::format("{}", it->second),
                               fmt::format("--size {}", v->name)});
      }
    }
  } else {
    // Variants of one width and depth (DeepSeek-V3 671B and Kimi K2 1T): the one whose other
    // dims config.json states too, else the first.
    for (const SizeVariant& s : f->size_variants) {
      if (s.dim("hidden_dim") != cfg.hidden_size || s.dim("num_layers") != cfg.num_layers) {
        continue;
      }
      bool agrees = true;
      for (const auto& [key, value] : s.dims) {
        auto it = config_dims.find(key);
        agrees = agrees && (it == config_dims.end() || it->second == value);
      }
      if (!v || agrees) {
        v = &s;
        r.size_by = "hidden_dim and num_layers";
      }
      if (agrees) {
        break;
      }
    }
    if (!v) {
      r.notes.push_back(fmt::format("no size variant of {} has hidden_dim {} and num_layers {}",
                                    f->family, cfg.hidden_size.value_or(0),
                                    cfg.num_layers.value_or(0)));
    }
  }
  if (v) {
    r.size = v->name;
    r.cross = cross_validate(contract_from_family(*f, *v), cfg);
  }

  // The dims shapes are evaluated over: the variant's, else config.json's.
  Dims dims = v ? v->dims : config_dims;
  for (const auto& [key, value] : config_dims) {
    dims.emplace(key, value);
  }
  const std::optional<bool> tied_stated =
      v && v->tied_embeddings ? v->tied_embeddings : f->constraints.tied_embeddings;

  if (!has_tensors) {
    r.notes.push_back("no weights: tensor names, shapes and the constraints they show not checked");
    r.compliant = r.conflicts.empty();
    return r;
  }

  // The template over the model's layers (and experts).
  const std::string prefix = find_prefix(*f, found);
  const uint64_t layers = cfg.num_layers.value_or(0);
  const uint64_t experts = cfg.is_moe() ? cfg.num_experts.value_or(0) : 0;
  std::map<std::string, Expected> expected;
  auto expect = [&](const std::string& role, const std::optional<std::string>& name,
                    std::optional<size_t> layer) {
    if (!name) {
      return;
    }
    std::string base = prefix + *name;
    if (layer) {
      replace_all(base, "{n}", std::to_string(*layer));
    }
    auto shape = f->shape_template.find(role);
    const std::string* expr = shape == f->shape_template.end() ? nullptr : &shape->second;
    if (base.find("{e}") != std::string::npos) {
      for (uint64_t e = 0; e < experts; ++e) {
        std::string s = base;
        replace_all(s, "{e}", std::to_string(e));
        expected[s] = {role, expr};
      }
      return;
    }
    expected[base] = {role, expr};
  };
  // A tied head the checkpoint stores anyway (Falcon's uploads keep lm_head.weight although
  // config.json ties it): loading ties it to the embedding, so it is the template's lm_head, not
  // an unexpected tensor, and the head is still tied.
  const std::optional<std::string>& head = f->tensors.lm_head;
  const bool head_stored = head && found.contains(prefix + *head);
  const bool stored_copy =
      tied_stated.value_or(false) && head_stored && cfg.tie_word_embeddings.value_or(false);
  expect("embedding", f->tensors.embedding, std::nullopt);
  if (!tied_stated.value_or(false) || stored_copy) {
    expect("lm_head", head, std::nullopt);
  }
  expect("final_norm", f->tensors.final_norm, std::nullopt);
  for (const TensorRoleTemplate& g : f->tensors.global) {
    expect(g.role, g.name, std::nullopt);
  }
  for (size_t n = 0; n < layers; ++n) {
    for (const TensorRoleTemplate& role : f->tensors.per_layer) {
      if (layer_selected(role, cfg, n)) {
        expect(role.role, role.name, n);
      }
    }
  }

  // Compliance: names, then shapes.
  r.tensors_checked = true;
  std::map<std::string, std::vector<uint64_t>> evaluated;  // role -> shape
  r.expected_tensors = expected.size();
  r.found_tensors = found.size();
  for (const auto& [name, e] : expected) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      ++r.missing_total;
      push_listed(r.missing, name);
      continue;
    }
    if (!e.expression || !it->second.shape_checkable) {
      continue;
    }
    auto ev = evaluated.find(e.role);
    if (ev == evaluated.end()) {
      auto shape = evaluate_shape(f->file, *e.expression, dims);
      if (!shape) {
        r.notes.push_back(fmt::format("shape of {} not checked: {}", e.role, shape.error().why));
        ev = evaluated.emplace(e.role, std::vector<uint64_t>{}).first;
      } else {
        ev = evaluated.emplace(e.role, std::move(*shape)).first;
      }
    }
    if (ev->second.empty()) {
      continue;
    }
    ++r.shapes_checked;
    const Shape& got = it->second.info->shape;
    std::vector<uint64_t> found_shape(got.begin(), got.end());
    if (found_shape != ev->second && r.shape_mismatches.size() < k_max_listed_tensors) {
      r.shape_mismatches.push_back({name, e.role, *e.expression, ev->second, found_shape});
    }
  }
  for (const std::string& name : found) {
    if (!expected.contains(name)) {
      ++r.unexpected_total;
      push_listed(r.unexpected, name);
    }
  }

  // Constraints against what the tensors and config.json show.
  std::vector<std::string> names(found.begin(), found.end());
  const FamilyConstraints& k = f->constraints;
  if (k.attention_type && model.config) {
    const std::string seen = attention_of(cfg);
    const std::string_view want = enum_name(*k.attention_type);
    // Grouped-query attention with one group is MQA (Gemma 3 1B in a GQA family).
    const bool pass = want == seen || (want == "gqa" && seen == "mqa");
    r.constraints.push_back({"attention_type", std::string(want), seen, pass,
                             fmt::format("heads {}, kv heads {}", cfg.num_heads.value_or(0),
                                         cfg.num_kv_heads.value_or(cfg.num_heads.value_or(0)))});
  }
  if (k.has_bias) {
    std::string which;
    const bool seen = any_name(
        names,
        {"q_proj.bias", "k_proj.bias", "v_proj.bias", "qkv_proj.bias", "query.bias", "key.bias",
         "value.bias", "query_key_value.bias", "c_attn.bias", "SelfAttention.q.bias"},
        &which);
    r.constraints.push_back({"has_bias", *k.has_bias ? "true" : "false", seen ? "true" : "false",
                             seen == *k.has_bias,
                             seen ? which : std::string("no attention projection bias")});
  }
  if (tied_stated) {
    const bool seen = !head_stored || stored_copy;
    r.constraints.push_back(
        {"tied_embeddings", *tied_stated ? "true" : "false", seen ? "true" : "false",
         seen == *tied_stated,
         stored_copy   ? fmt::format("config.json ties it; {} is a stored copy", prefix + *head)
         : head_stored ? prefix + *head
                       : std::string("no lm_head stored")});
  }
  if (k.qk_norm) {
    std::string which;
    const bool seen = qk_norm_name(names, &which);
    r.constraints.push_back({"qk_norm", *k.qk_norm ? "true" : "false", seen ? "true" : "false",
                             seen == *k.qk_norm, seen ? which : std::string("no q/k norm")});
  }
  if (k.mlp_type) {
    std::string which;
    const bool gated = any_name(
        names, {"gate_proj.", "gate_up_proj", ".w1.", ".w3.", "wi_0.", "gate_up_proj_blocks"},
        &which);
    std::string plain_which;
    const bool plain =
        any_name(names, {"mlp.", "intermediate.dense", "DenseReluDense", "ffn.", "feed_forward."},
                 &plain_which);
    const std::string seen = cfg.is_moe() ? "moe" : gated ? "gated" : plain ? "plain" : "none";
    std::string want;
    switch (*k.mlp_type) {
      case MlpType::swiglu:
      case MlpType::gated_mlp:
        want = "gated";
        break;
      case MlpType::gelu_mlp:
      case MlpType::relu_mlp:
        want = "plain";
        break;
      case MlpType::moe:
        want = "moe";
        break;
      case MlpType::none:
        want = "none";
        break;
    }
    r.constraints.push_back({"mlp_type", std::string(enum_name(*k.mlp_type)), seen, want == seen,
                             gated   ? which
                             : plain ? plain_which
                                     : std::string("no MLP tensors")});
  }
  if (k.activation && model.config) {
    const NamedActivation act = activation_of(cfg);
    if (!act.value) {
      r.notes.push_back(
          act.raw.empty()
              ? std::string("activation not checked: config.json names none")
              : fmt::format("activation not checked: {} '{}' is not one a contract names", act.key,
                            excerpt(act.raw)));
    } else {
      r.constraints.push_back({"activation", std::string(enum_name(*k.activation)),
                               std::string(enum_name(*act.value)), *act.value == *k.activation,
                               fmt::format("config.json {} = {}", act.key, act.raw)});
    }
  }
  if (k.norm_type) {
    const NormFacts n = norm_facts(model, cfg, params);
    const NormType seen = n.kind == "LayerNorm" ? NormType::layernorm : NormType::rmsnorm;
    r.constraints.push_back({"norm_type", std::string(enum_name(*k.norm_type)),
                             std::string(enum_name(seen)), seen == *k.norm_type, n.evidence});
  }
  if (k.positional_encoding && model.config) {
    const PositionFacts p = position_facts(model, cfg);
    const PositionalEncoding seen = positional_encoding_of(p);
    // A learned table shows in the tensors, ALiBi and T5's buckets in the family table or
    // config.json; a stack of recurrent mixers has none; anything else rotates.
    r.constraints.push_back({"positional_encoding", std::string(enum_name(*k.positional_encoding)),
                             std::string(enum_name(seen)), seen == *k.positional_encoding,
                             p.evidence});
  }

  r.compliant = r.missing_total == 0 && r.unexpected_total == 0 && r.shape_mismatches.empty() &&
                r.conflicts.empty() &&
                std::all_of(r.constraints.begin(), r.constraints.end(),
                            [](const ConstraintCheck& c) { return c.pass; });
  return r;
}

}  // namespace mbuild

namespace mbuild {
namespace {

// Expressions a shape axis may be, in the order they are tried; a role's preferred ones first.
constexpr std::string_view k_axis_exprs[] = {
    "vocab_size",
    "hidden_dim",
    "num_heads * head_dim",
    "num_kv_heads * head_dim",
    "intermediate_dim",
    "moe_intermediate_dim",
    "shared_expert_intermediate_dim",
    "num_experts",
    "head_dim",
    "2 * num_heads * head_dim",
    "(num_heads + 2 * num_kv_heads) * head_dim",
    "2 * intermediate_dim",
    "2 * moe_intermediate_dim",
    "num_heads * (qk_nope_head_dim + qk_rope_head_dim)",
    "kv_lora_rank + qk_rope_head_dim",
    "kv_lora_rank",
    "num_heads * (qk_nope_head_dim + v_head_dim)",
    "moe_intermediate_dim * num_shared_experts",
    "linear_num_value_heads * linear_value_head_dim",
    "2 * linear_num_key_heads * linear_key_head_dim + linear_num_value_heads * "
    "linear_value_head_dim",
    "2 * linear_num_key_heads * linear_key_head_dim + 2 * linear_num_value_heads * "
    "linear_value_head_dim",
    "2 * linear_num_value_heads",
    "linear_num_value_heads",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
    "max_position_embeddings",
    "type_vocab_size",
    "state_size",
    "conv_kernel",
    "time_step_rank",
    "time_step_rank + 2 * state_size",
    "relative_attention_num_buckets",
    "num_heads",
    "1",
};

std::vector<std::string_view> preferred_exprs(std::string_view suffix, size_t axis) {
  std::vector<std::string_view> p;
  const auto has = [&](std::string_view s) { return suffix.find(s) != std::string_view::npos; };
  if (axis == 0 &&
      (has("q_proj") || has("query.") || has("SelfAttention.q") || has("EncDecAttention.q"))) {
    p.push_back("num_heads * head_dim");
  }
  if (axis == 1 && (has("o_proj") || has("attention.output.dense") || has("SelfAttention.o") ||
                    has("EncDecAttention.o") || has("attention.dense"))) {
    p.push_back("num_heads * head_dim");
  }
  if ((has("q_norm") || has("k_norm")) && !has("linear")) {
    p.push_back("head_dim");
  }
  if (has("experts.{e}") || (has("experts.") && !has("shared"))) {
    p.push_back("moe_intermediate_dim");
    p.push_back("intermediate_dim");
  } else if (has("shared_expert")) {
    p.push_back("shared_expert_intermediate_dim");
    p.push_back("moe_intermediate_dim * num_shared_experts");
  } else if (has("mlp.gate.") || has("block_sparse_moe.gate.") || has("router")) {
    p.push_back("num_experts");
  } else if (!has("attention") && !has("attn") &&
             (has("mlp") || has("DenseReluDense") || has("intermediate") || has("output.dense") ||
              has("dense_h_to_4h") || has("dense_4h_to_h"))) {
    p.push_back("intermediate_dim");
  }
  if (has("conv1d") && has("linear_attn")) {
    p.push_back(
        "2 * linear_num_key_heads * linear_key_head_dim + linear_num_value_heads * "
        "linear_value_head_dim");
  }
  return p;
}

std::string role_name(std::string suffix, const std::set<std::string>& used) {
  if (suffix.ends_with(".weight")) {
    suffix.resize(suffix.size() - 7);
  }
  replace_all(suffix, "{e}.", "");
  for (std::string_view p : {"self_attn.", "mlp.", "block_sparse_moe."}) {
    if (suffix.starts_with(p)) {
      suffix.erase(0, p.size());
    }
  }
  std::replace(suffix.begin(), suffix.end(), '.', '_');
  std::replace(suffix.begin(), suffix.end(), '-', '_');
  while (used.contains(suffix)) {
    suffix += '_';
  }
  return suffix;
}

// "model.layers.12.mlp.experts.3.up_proj.weight" -> ("model.layers.{n}.mlp.experts.{e}.up_proj
// .weight", 12); no layer index -> nullopt.
std::optional<std::pair<std::string, size_t>> layer_pattern(const std::string& name) {
  for (size_t i = 0; i + 2 < name.size(); ++i) {
    if (name[i] != '.' || !std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
      continue;
    }
    size_t j = i + 1;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) {
      ++j;
    }
    if (j >= name.size() || name[j] != '.' || j - i > 7) {
      continue;
    }
    const size_t layer = std::stoul(name.substr(i + 1, j - i - 1));
    std::string rest = name.substr(j + 1);
    const size_t e = rest.find("experts.");
    if (e != std::string::npos) {
      size_t k = e + 8;
      size_t d = k;
      while (d < rest.size() && std::isdigit(static_cast<unsigned char>(rest[d]))) {
        ++d;
      }
      if (d > k && d < rest.size() && rest[d] == '.') {
        rest.replace(k, d - k, "{e}");
      }
    }
    return std::pair{name.substr(0, i + 1) + "{n}." + rest, layer};
  }
  return std::nullopt;
}

}  // namespace

FamilyContract derive_family_contract(const Model& model, const ParamCount& params) {
  static const ModelConfig k_no_config;
  const ModelConfig& cfg = model.config ? *model.config : k_no_config;
  FamilyContract c;
  c.family = cfg.model_type.empty() ? std::string("unknown") : cfg.model_type;
  c.display_name = c.family;
  c.architectures = cfg.architectures;
  if (!cfg.root_model_type.empty() && cfg.root_model_type != cfg.model_type) {
    c.model_types.push_back(cfg.root_model_type);
  }
  SizeVariant v;
  v.name = format_count(params.total);
  std::transform(v.name.begin(), v.name.end(), v.name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  v.parameters = std::to_string(params.total);
  v.dims = dims_from_config(cfg);
  v.rope_theta = cfg.rope_theta;
  v.norm_eps = cfg.norm_eps;

  // Tensors as compliance reads them, grouped by their name with {n} and {e}.
  struct Group {
    std::set<size_t> layers;
    const TensorInfo* first = nullptr;
    bool checkable = false;
  };
  std::map<std::string, Group> per_layer;
  std::map<std::string, std::pair<const TensorInfo*, bool>> global;
  std::vector<std::string> names;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorClass& cls = params.classes[i];
    if (cls.role == TensorRole::quant_aux || is_multimodal(cls.component) ||
        cls.component == Component::mtp) {
      continue;
    }
    const std::string name = normalised_name(model.tensors[i].name);
    names.push_back(name);
    const bool checkable = cls.role == TensorRole::parameter || cls.role == TensorRole::buffer;
    if (auto lp = layer_pattern(name)) {
      Group& g = per_layer[lp->first];
      if (g.first == nullptr || lp->second < *g.layers.begin()) {
        g.first = &model.tensors[i];
        g.checkable = checkable;
      }
      g.layers.insert(lp->second);
    } else {
      global[name] = {&model.tensors[i], checkable};
    }
  }
  const uint64_t layers = cfg.num_layers.value_or(0);

  // Shapes: each axis as the first expression over the dims that gives its length.
  std::vector<std::pair<std::string_view, uint64_t>> values;
  for (std::string_view e : k_axis_exprs) {
    auto shape = evaluate_shape("emit-contract", fmt::format("[{}]", e), v.dims);
    if (shape && shape->front() > 0) {
      values.emplace_back(e, shape->front());
    }
  }
  auto shape_expr = [&](const std::string& suffix,
                        const TensorInfo& t) -> std::optional<std::string> {
    std::vector<std::string_view> axes;
    for (size_t a = 0; a < t.shape.size(); ++a) {
      std::optional<std::string_view> pick;
      for (std::string_view want : preferred_exprs(suffix, a)) {
        for (const auto& [e, n] : values) {
          if (!pick && e == want && n == t.shape[a]) {
            pick = e;
          }
        }
      }
      for (const auto& [e, n] : values) {
        if (!pick && n == t.shape[a]) {
          pick = e;
        }
      }
      if (!pick) {
        return std::nullopt;
      }
      axes.push_back(*pick);
    }
    return fmt::format("[{}]", fmt::join(axes, ", "));
  };

  std::set<std::string> used{"embedding", "lm_head", "final_norm"};
  auto add_global = [&](const std::string& role, const std::string& name) {
    const auto& [info, checkable] = global.at(name);
    if (checkable) {
      if (auto e = shape_expr(name, *info)) {
        c.shape_template[role] = *e;
      }
    }
  };
  for (const auto& [name, info] : global) {
    const bool position =
        name.find("position") != std::string::npos || name.find("token_type") != std::string::npos;
    const bool norm_like = name.find("norm") != std::string::npos;
    if (!c.tensors.embedding && !position && !norm_like &&
        (name.ends_with("embed_tokens.weight") || name.ends_with("wte.weight") ||
         name.ends_with("word_embeddings.weight") || name.ends_with("embeddings.weight") ||
         name.ends_with("shared.weight"))) {
      c.tensors.embedding = name;
      add_global("embedding", name);
    } else if (!c.tensors.lm_head && name.ends_with("lm_head.weight")) {
      c.tensors.lm_head = name;
      add_global("lm_head", name);
    } else if (!c.tensors.final_norm && name.find("encoder") == std::string::npos &&
               (name.ends_with(".norm.weight") || name.ends_with("ln_f.weight") ||
                name.ends_with("final_layernorm.weight") || name.ends_with("norm_f.weight") ||
                name.ends_with("final_layer_norm.weight"))) {
      c.tensors.final_norm = name;
      add_global("final_norm", name);
    }
  }
  for (const auto& [name, info] : global) {
    if (name == c.tensors.embedding || name == c.tensors.lm_head || name == c.tensors.final_norm) {
      continue;
    }
    const std::string role = role_name(name, used);
    used.insert(role);
    c.tensors.global.push_back({role, name, "all"});
    add_global(role, name);
  }
  for (const auto& [pattern, g] : per_layer) {
    const std::string suffix = pattern.substr(pattern.find("{n}.") + 4);
    std::string role = role_name(suffix, used);
    if (pattern.starts_with("encoder.") || pattern.starts_with("decoder.")) {
      role = pattern.substr(0, pattern.find('.')) + "_" + role;
    }
    used.insert(role);
    TensorRoleTemplate t{role, pattern, "all"};
    if (g.layers.size() != layers) {
      // The layer set a role's tensors appear in, named by the layer kind that selects exactly
      // those layers (config.json's kinds, as compliance reads them); else by the name.
      const auto has = [&](std::string_view s) { return suffix.find(s) != std::string::npos; };
      const std::set<size_t>& seen = g.layers;  // (clang 14 lambdas cannot name a binding)
      const auto kind_set = [&, name = pattern](std::string_view kind) {
        const TensorRoleTemplate probe{role, name, std::string(kind)};
        for (size_t i = 0; i < layers; ++i) {
          if (layer_selected(probe, cfg, i) != (seen.count(i) > 0)) {
            return false;
          }
        }
        return true;
      };
      const bool moe =
          has("experts") || has("mlp.gate.") || has("shared_expert") || has("feed_forward.router");
      t.layers = g.layers == std::set<size_t>{0}       ? "first"
                 : kind_set("linear_attention")        ? "linear_attention"
                 : kind_set("mamba")                   ? "mamba"
                 : kind_set("short_conv")              ? "short_conv"
                 : kind_set("full_attention")          ? "full_attention"
                 : kind_set("moe")                     ? "moe"
                 : kind_set("dense")                   ? "dense"
                 : has("linear_attn")                  ? "linear_attention"
                 : has("self_attn")                    ? "full_attention"
                 : has("mamba.")                       ? "mamba"
                 : moe                                 ? "moe"
                 : has("mlp.") || has("feed_forward.") ? "dense"
                                                       : "all";
    }
    c.tensors.per_layer.push_back(std::move(t));
    if (g.checkable) {
      if (auto e = shape_expr(suffix, *g.first)) {
        c.shape_template[role] = *e;
      }
    }
  }

  // Constraints as the tensors and config.json show them.
  FamilyConstraints& k = c.constraints;
  if (model.config) {
    const std::string a = attention_of(cfg);
    for (AttentionType t :
         {AttentionType::mha, AttentionType::gqa, AttentionType::mqa, AttentionType::mla,
          AttentionType::ssm, AttentionType::linear, AttentionType::hybrid}) {
      if (enum_name(t) == a) {
        k.attention_type = t;
      }
    }
  }
  k.has_bias = any_name(
      names,
      {"q_proj.bias", "k_proj.bias", "v_proj.bias", "qkv_proj.bias", "query.bias", "key.bias",
       "value.bias", "query_key_value.bias", "c_attn.bias", "SelfAttention.q.bias"},
      nullptr);
  k.tied_embeddings = !c.tensors.lm_head.has_value();
  k.qk_norm = qk_norm_name(names, nullptr);
  const bool gated = any_name(
      names, {"gate_proj.", "gate_up_proj", ".w1.", ".w3.", "wi_0.", "gate_up_proj_blocks"},
      nullptr);
  const bool plain = any_name(
      names, {"mlp.", "intermediate.dense", "DenseReluDense", "ffn.", "feed_forward."}, nullptr);
  // The activation, norm and positions as config.json and the tensors show them.
  const NamedActivation named = activation_of(cfg);
  const std::string& act = named.raw;
  k.activation = named.value;
  if (model.config) {
    k.norm_type = norm_facts(model, cfg, params).kind == "LayerNorm" ? NormType::layernorm
                                                                     : NormType::rmsnorm;
    k.positional_encoding = positional_encoding_of(position_facts(model, cfg));
  }
  const bool gelu = act.find("gelu") != std::string::npos;
  k.mlp_type = cfg.is_moe() ? MlpType::moe
               : gated      ? (gelu ? MlpType::gated_mlp : MlpType::swiglu)
               : plain      ? MlpType::gelu_mlp
                            : MlpType::none;
  c.size_variants.push_back(std::move(v));
  return c;
}

}  // namespace mbuild
