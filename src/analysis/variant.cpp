#include "mbuild/analysis/variant.hpp"

#include <cmath>

#include <fmt/format.h>

namespace mbuild {
namespace {

std::optional<double> raw_number(const ModelConfig& c, std::string_view key) {
  for (const nlohmann::json* obj : {&c.text, &c.raw}) {
    if (obj->is_object()) {
      if (auto it = obj->find(key); it != obj->end() && it->is_number()) {
        return it->get<double>();
      }
      // Newer configs keep rope settings in rope_parameters.
      if (auto rp = obj->find("rope_parameters"); rp != obj->end() && rp->is_object()) {
        if (auto it = rp->find(key); it != rp->end() && it->is_number()) {
          return it->get<double>();
        }
      }
    }
  }
  return std::nullopt;
}

bool is_expert_tensor(std::string_view name) {
  return name.find("switch_mlp.") != std::string_view::npos ||
         (name.find(".experts.") != std::string_view::npos &&
          name.find("shared") == std::string_view::npos);
}

}  // namespace

VariantReport variant_report(const Model& model, const ParamCount& params) {
  VariantReport r;
  if (!model.config) {
    return r;
  }
  const ModelConfig& c = *model.config;
  auto put = [&](std::string name, std::optional<double> v) {
    if (v) {
      r.fields.emplace_back(std::move(name), *v);
    }
  };
  auto count = [](const std::optional<uint64_t>& v) -> std::optional<double> {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  const auto hidden = c.hidden_size;
  const auto heads = c.num_heads;
  const auto kv = c.num_kv_heads;
  const auto head_dim = c.head_dim;
  std::optional<uint64_t> experts;
  if (c.is_moe()) {
    experts = c.num_experts;
  }
  const auto moe_inter = c.moe_intermediate_size ? c.moe_intermediate_size : c.intermediate_size;
  const auto k_heads = raw_number(c, "linear_num_key_heads");
  const auto v_heads = raw_number(c, "linear_num_value_heads");
  const auto k_dim = raw_number(c, "linear_key_head_dim");
  const auto v_dim = raw_number(c, "linear_value_head_dim");
  const auto conv_kernel = raw_number(c, "linear_conv_kernel_dim");
  const auto partial = raw_number(c, "partial_rotary_factor");
  const unsigned bits = c.quant.bits;
  const uint64_t group = c.quant.group_size;

  put("hidden", count(hidden));
  put("layers", count(c.num_layers));
  put("heads", count(heads));
  put("kv_heads", count(kv));
  put("head_dim", count(head_dim));
  put("experts", count(experts));
  put("top_k", experts ? count(c.top_k) : std::nullopt);
  put("moe_intermediate", experts ? count(moe_inter) : std::nullopt);
  put("shared_intermediate", count(c.shared_expert_intermediate_size));
  put("linear_key_heads", k_heads);
  put("linear_value_heads", v_heads);
  put("linear_key_dim", k_dim);
  put("linear_value_dim", v_dim);
  put("conv_kernel", conv_kernel);
  put("full_attention_interval", raw_number(c, "full_attention_interval"));
  put("rope_theta", c.rope_theta ? c.rope_theta : raw_number(c, "rope_theta"));
  put("partial_rotary_factor", partial);
  put("vocab", count(c.vocab_size));
  put("quant_bits", bits ? std::optional<double>(bits) : std::nullopt);
  put("quant_group_size", group ? std::optional<double>(static_cast<double>(group)) : std::nullopt);

  // Invariants.
  if (hidden && group) {
    r.invariants.push_back(
        {"hidden % group_size == 0", *hidden % group == 0,
         fmt::format("hidden {} % group {} = {}", *hidden, group, *hidden % group)});
  }
  if (experts && c.top_k) {
    r.invariants.push_back({"top_k <= experts", *c.top_k <= *experts,
                            fmt::format("top_k {}, experts {}", *c.top_k, *experts)});
  }
  if (heads && kv && *kv > 0) {
    r.invariants.push_back({"heads % kv_heads == 0", *heads % *kv == 0,
                            fmt::format("heads {} % kv heads {} = {}", *heads, *kv, *heads % *kv)});
  }
  if (k_heads && v_heads && *k_heads > 0) {
    r.invariants.push_back({"linear value heads % key heads == 0",
                            std::fmod(*v_heads, *k_heads) == 0,
                            fmt::format("value heads {} over key heads {}", *v_heads, *k_heads)});
  }
  if (k_heads && v_heads && k_dim && v_dim) {
    const double conv = 2 * *k_heads * *k_dim + *v_heads * *v_dim;
    r.fields.emplace_back("linear_conv_dim", conv);
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      const TensorInfo& t = model.tensors[i];
      if (t.name.find("linear_attn.conv1d.weight") != std::string_view::npos && !t.shape.empty()) {
        r.invariants.push_back({"linear conv dim == 2·key heads·key dim + value heads·value dim",
                                static_cast<double>(t.shape[0]) == conv,
                                fmt::format("{} rows {}, expected {}", t.name, t.shape[0], conv)});
        break;
      }
    }
  }
  if (partial && head_dim) {
    const double rotary = static_cast<double>(*head_dim) * *partial;
    r.fields.emplace_back("rotary_dim", rotary);
    r.invariants.push_back({"rotary_dim = head_dim · partial_rotary_factor is an even integer",
                            std::floor(rotary) == rotary && std::fmod(rotary, 2) == 0,
                            fmt::format("{} · {} = {}", *head_dim, *partial, rotary)});
  }
  // The layout of MLX affine quantization only: compressed-tensors MXFP4 (Kimi K3) keeps one
  // U8 scale per group and no bias, so the formula does not describe it.
  if (experts && moe_inter && hidden && bits && group && c.quant.method == "mlx") {
    // One expert's gate, up and down: packed weights, then BF16 scales and biases per group.
    const uint64_t ih = *moe_inter * *hidden;
    const uint64_t expected = 3 * (ih * bits / 8 + 2 * 2 * ih / group);
    r.fields.emplace_back("expert_bytes", static_cast<double>(expected));
    // The stored bytes of the first layer that holds experts, over its expert count.
    std::optional<uint32_t> layer;
    uint64_t bytes = 0;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      const TensorInfo& t = model.tensors[i];
      const auto& l = params.classes[i].layer;
      if (!l || !is_expert_tensor(t.name)) {
        continue;
      }
      if (!layer) {
        layer = *l;
      }
      if (*l == *layer) {
        bytes += t.end - t.begin;
      }
    }
    if (layer) {
      const uint64_t per_expert = bytes / *experts;
      r.invariants.push_back({"expert bytes == 3·(I·H·bits/8 + 4·I·H/group)",
                              per_expert == expected && bytes % *experts == 0,
                              fmt::format("layer {}: {} bytes over {} experts = {}, expected {}",
                                          *layer, bytes, *experts, per_expert, expected)});
    }
  }
  return r;
}

}  // namespace mbuild
