#include "mbuild/analysis/cross_validate.hpp"

#include <array>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace mbuild {
namespace {

using ojson = nlohmann::ordered_json;

// Contract fields compared as exact counts, with the config value they stand for (after the
// alias table and the config's own normalisation: kv heads default to heads, head_dim to
// hidden / heads).
struct CountField {
  std::string_view field;
  std::optional<uint64_t> (*hf)(const ModelConfig&);
};

constexpr std::array k_count_fields = {
    CountField{"hidden_size", [](const ModelConfig& c) { return c.hidden_size; }},
    CountField{"num_layers", [](const ModelConfig& c) { return c.num_layers; }},
    CountField{"num_heads", [](const ModelConfig& c) { return c.num_heads; }},
    CountField{"num_kv_heads", [](const ModelConfig& c) { return c.num_kv_heads; }},
    CountField{"head_dim", [](const ModelConfig& c) { return c.head_dim; }},
    CountField{"intermediate_size", [](const ModelConfig& c) { return c.intermediate_size; }},
    CountField{"vocab_size", [](const ModelConfig& c) { return c.vocab_size; }},
    CountField{"max_position_embeddings",
               [](const ModelConfig& c) { return c.max_position_embeddings; }},
    CountField{"num_experts",
               [](const ModelConfig& c) { return c.is_moe() ? c.num_experts : std::nullopt; }},
    CountField{"top_k", [](const ModelConfig& c) { return c.is_moe() ? c.top_k : std::nullopt; }},
    // Mixtral and GPT-OSS size their experts with intermediate_size.
    CountField{"moe_intermediate_size",
               [](const ModelConfig& c) -> std::optional<uint64_t> {
                 if (!c.is_moe()) {
                   return std::nullopt;
                 }
                 return c.moe_intermediate_size ? c.moe_intermediate_size : c.intermediate_size;
               }},
    CountField{"num_shared_experts", [](const ModelConfig& c) { return c.num_shared_experts; }},
    CountField{"sliding_window", [](const ModelConfig& c) { return c.sliding_window; }},
    CountField{"kv_lora_rank", [](const ModelConfig& c) { return c.count("kv_lora_rank"); }},
    CountField{"q_lora_rank", [](const ModelConfig& c) { return c.count("q_lora_rank"); }},
    CountField{"qk_rope_head_dim",
               [](const ModelConfig& c) { return c.count("qk_rope_head_dim"); }},
};

// config.json fields a contract rarely states that still change the estimate (context length,
// KV cache, parameter count, memory), listed when the contract leaves them out.
constexpr std::string_view k_hf_only_keys[] = {
    "rope_scaling",       "attention_dropout",     "use_cache",   "attention_bias",
    "mlp_bias",           "partial_rotary_factor", "torch_dtype", "quantization_config",
    "use_sliding_window", "layer_types",
};

std::string fmt_double(double v) {
  return fmt::format("{}", v);
}

std::optional<double> contract_number(const Contract& contract,
                                      std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    if (auto v = contract.field(k); v && v->is_number()) {
      return v->get<double>();
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view field_status_name(FieldStatus s) {
  switch (s) {
    case FieldStatus::match:
      return "match";
    case FieldStatus::approximate:
      return "approximate";
    case FieldStatus::mismatch:
      return "mismatch";
    case FieldStatus::info:
      return "info";
    case FieldStatus::contract_only:
      return "contract_only";
    case FieldStatus::hf_only:
      return "hf_only";
  }
  return "info";
}

size_t CrossValidation::count(FieldStatus s) const {
  size_t n = 0;
  for (const CrossValidationEntry& e : entries) {
    n += e.status == s ? 1 : 0;
  }
  return n;
}

size_t CrossValidation::compared() const {
  size_t n = 0;
  for (const CrossValidationEntry& e : entries) {
    n += e.compared() ? 1U : 0U;
  }
  return n;
}

std::vector<std::string> CrossValidation::listed(FieldStatus s) const {
  std::vector<std::string> out;
  for (const CrossValidationEntry& e : entries) {
    if (e.status == s) {
      out.push_back(fmt::format("{}={}", e.field, s == FieldStatus::hf_only ? e.hf : e.contract));
    }
  }
  return out;
}

CrossValidation cross_validate(const Contract& contract, const ModelConfig& config) {
  CrossValidation out;
  std::vector<CrossValidationEntry> one_sided;
  auto contract_only = [&](std::string_view field, std::string value) {
    one_sided.push_back({std::string(field), std::move(value), {}, FieldStatus::contract_only});
  };
  auto hf_only = [&](std::string_view field, std::string value) {
    one_sided.push_back({std::string(field), {}, std::move(value), FieldStatus::hf_only});
  };
  for (const CountField& f : k_count_fields) {
    const auto cv = contract.field(f.field);
    const auto hf = f.hf(config);
    if (cv && hf) {
      const auto c = json_count(*cv);
      out.entries.push_back({std::string(f.field), c ? std::to_string(*c) : cv->dump(),
                             std::to_string(*hf),
                             c == hf ? FieldStatus::match : FieldStatus::mismatch});
    } else if (cv) {
      contract_only(f.field, cv->dump());
    } else if (hf) {
      hf_only(f.field, std::to_string(*hf));
    }
  }

  if (auto cv = contract.field("tie_word_embeddings"); cv && cv->is_boolean()) {
    if (config.tie_word_embeddings) {
      out.entries.push_back(
          {"tie_word_embeddings", cv->dump(), *config.tie_word_embeddings ? "true" : "false",
           cv->get<bool>() == *config.tie_word_embeddings ? FieldStatus::match
                                                          : FieldStatus::mismatch});
    } else {
      contract_only("tie_word_embeddings", cv->dump());
    }
  } else if (config.tie_word_embeddings) {
    hf_only("tie_word_embeddings", *config.tie_word_embeddings ? "true" : "false");
  }

  // RoPE base: closer than 1 is a match (500000 vs 500000.0), within 1 % approximate.
  const auto c_theta = contract_number(contract, {"rope_theta"});
  if (c_theta && config.rope_theta) {
    const double diff = std::fabs(*c_theta - *config.rope_theta);
    const FieldStatus s =
        diff < 1.0 ? FieldStatus::match
        : diff / std::max(std::fabs(*config.rope_theta), 1.0) < k_rope_theta_tolerance
            ? FieldStatus::approximate
            : FieldStatus::mismatch;
    out.entries.push_back({"rope_theta", fmt_double(*c_theta), fmt_double(*config.rope_theta), s});
  } else if (c_theta) {
    contract_only("rope_theta", fmt_double(*c_theta));
  } else if (config.rope_theta) {
    hf_only("rope_theta", fmt_double(*config.rope_theta));
  }

  // Norm epsilon, however the family spells it: equal when closer than 1e-12 (absolute), so
  // 1e-05 and 0.00001 match while 1e-05 and 1e-06 do not. Written in the shortest form that
  // reads back exactly, so two values that differ never print alike.
  const auto c_eps = contract_number(
      contract, {"norm_eps", "rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon"});
  if (c_eps && config.norm_eps) {
    const bool equal = std::fabs(*c_eps - *config.norm_eps) < k_norm_eps_tolerance;
    out.entries.push_back({"norm_eps", fmt_double(*c_eps), fmt_double(*config.norm_eps),
                           equal ? FieldStatus::match : FieldStatus::mismatch});
  } else if (c_eps) {
    contract_only("norm_eps", fmt_double(*c_eps));
  } else if (config.norm_eps) {
    hf_only("norm_eps", fmt_double(*config.norm_eps));
  }

  // Fields an emitted config (schema 2) states in its `config` object, compared as written.
  auto compare_json = [&](std::string_view field, const std::optional<ojson>& cv,
                          const std::optional<ojson>& hf) {
    if (cv && hf) {
      out.entries.push_back({std::string(field), cv->dump(), hf->dump(),
                             *cv == *hf ? FieldStatus::match : FieldStatus::mismatch});
    } else if (cv) {
      contract_only(field, cv->dump());
    }
  };
  auto config_json = [&](std::string_view key) -> std::optional<ojson> {
    if (const nlohmann::json* v = config.find(key); v && !v->is_null()) {
      return ojson(*v);
    }
    return std::nullopt;
  };
  // The emitted config's `config` object (schema 2); hand-written contracts have none.
  const auto stated = contract.raw.find("config");
  auto stated_field = [&](std::string_view key) -> std::optional<ojson> {
    if (stated != contract.raw.end() && stated->is_object()) {
      if (auto it = stated->find(key); it != stated->end() && !it->is_null()) {
        return *it;
      }
    }
    return std::nullopt;
  };
  if (!config.architectures.empty() || stated_field("architectures")) {
    compare_json(
        "architectures", stated_field("architectures"),
        config.architectures.empty() ? std::nullopt : std::optional<ojson>(config.architectures));
  }
  compare_json(
      "torch_dtype", stated_field("torch_dtype"),
      config.torch_dtype.empty() ? std::nullopt : std::optional<ojson>(config.torch_dtype));
  compare_json("rope_scaling", stated_field("rope_scaling"), config_json("rope_scaling"));
  if (auto q = stated_field("quantization"); q && q->is_object() && q->contains("method")) {
    compare_json("quantization", (*q)["method"],
                 config.quant.method.empty() ? std::optional<ojson>("none")
                                             : std::optional<ojson>(config.quant.method));
  }

  // model_type: a hand-written contract names a layer class rather than a family, so that is
  // information; an emitted config states the family, which must match.
  if (auto mt = stated_field("model_type"); mt && mt->is_string() && !config.model_type.empty()) {
    out.entries.push_back({"model_type", mt->get<std::string>(), config.model_type,
                           *mt == config.model_type ? FieldStatus::match : FieldStatus::mismatch});
  } else if (!config.model_type.empty()) {
    std::string c = contract.model_type;
    if (c.empty()) {
      for (const ContractLayerType& t : contract.layer_types) {
        if (t.layer_class.find("Attention") != std::string::npos) {
          c = t.layer_class;
          break;
        }
      }
    }
    out.entries.push_back(
        {"model_type", c.empty() ? "-" : c, config.model_type, FieldStatus::info});
  }

  for (std::string_view key : k_hf_only_keys) {
    const bool stated_quantization = key == "quantization_config" && stated_field("quantization");
    if (contract.raw.contains(key) || stated_field(key) || stated_quantization) {
      continue;
    }
    if (const nlohmann::json* v = config.find(key); v && !v->is_null()) {
      hf_only(key, v->dump());
    }
  }
  out.entries.insert(out.entries.end(), std::make_move_iterator(one_sided.begin()),
                     std::make_move_iterator(one_sided.end()));
  return out;
}

}  // namespace mbuild
