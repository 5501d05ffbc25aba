// Step 2 of the layer mapper: what each unit's tensors show, as typed facts. Dimensions come
// from logical parameter counts (packed quantized weights read like plain ones) divided by the
// known side. Where config.json fills a gap the shapes leave, it is used; what the shapes say
// about a config field is recorded as a reading, compared in layer_checks.cpp.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analysis/layer_steps.hpp"
#include "mbuild/arch/family.hpp"

namespace mbuild {
namespace {

// Σ logical params of a set of tensors per leaf module, and what else their names show.
struct UnitTensors {
  std::map<std::string, uint64_t> weight, bias, param;
  std::map<std::string, const TensorInfo*> first;  // a representative tensor per leaf
  std::set<uint32_t> expert_ids;                   // experts.N indices
  uint64_t fused_experts = 0;                      // first dim of 3-D expert tensors
  bool any_bias = false;
};

std::optional<uint64_t> div_exact(uint64_t a, uint64_t b) {
  if (b == 0 || a % b != 0) {
    return std::nullopt;
  }
  return a / b;
}

uint64_t sum_of(const std::map<std::string, uint64_t>& m,
                std::initializer_list<std::string_view> keys) {
  uint64_t s = 0;
  for (std::string_view k : keys) {
    if (auto it = m.find(std::string(k)); it != m.end()) {
      s += it->second;
    }
  }
  return s;
}

uint64_t sum_all(const std::map<std::string, uint64_t>& m) {
  uint64_t s = 0;
  for (const auto& [leaf, n] : m) {
    s += n;
  }
  return s;
}

bool has(const std::map<std::string, uint64_t>& m, std::string_view key) {
  return m.count(std::string(key)) > 0;
}

// RWKV blocks: time_* parameters or a receptance projection.
bool rwkv_leaves(const UnitTensors& ut) {
  for (const auto* m : {&ut.weight, &ut.param}) {
    for (const auto& [leaf, n] : *m) {
      if (leaf.starts_with("time_") || leaf == "receptance") {
        return true;
      }
    }
  }
  return false;
}

class Reader {
 public:
  Reader(MapContext& ctx, LayerMap& out) : m_ctx(ctx), m_out(out), m_cfg(ctx.cfg) {}

  void read(size_t index) {
    m_unit = index;
    LayerUnit& u = m_out.units[index];
    const UnitTensors ut = collect(u.tensors);
    const uint64_t h = hidden_for(u);
    switch (m_ctx.slot_of_unit[index]) {
      case Slot::buffer:
        u.shape = BufferShape{u.params};
        break;
      case Slot::head:
        u.shape = head(u, ut, h);
        break;
      case Slot::norm:
        u.shape = NormShape{ut.weight.empty() ? u.params : ut.weight.begin()->second, ut.any_bias};
        break;
      case Slot::embedding:
        u.shape = embedding(u, ut, h);
        break;
      case Slot::mixer:
        u.shape = mixer(u, ut, h);
        break;
      case Slot::cross_attention:
        u.name = "cross_attention";
        u.shape = attention(u, ut, h, true);
        break;
      case Slot::mlp:
        u.shape = mlp(u, ut, h);
        break;
      case Slot::moe:
        u.shape = moe(u, h);
        break;
      case Slot::other:
        if (u.scope == "vision") {
          u.shape = vision(u);
        } else if (u.scope == "mtp") {
          u.shape = MtpShape{h, cfg_count("num_experts").value_or(0)};
        } else {
          u.shape = UnknownShape{};
          ShapeReading r;
          r.where = unit_where(u);
          r.text = fmt::format("no mapping rule knows '{}': emitted as UnknownLayer", u.module);
          m_out.readings.push_back(std::move(r));
        }
        break;
    }
  }

 private:
  UnitTensors collect(const std::vector<size_t>& tensors) const {
    UnitTensors ut;
    for (size_t i : tensors) {
      const TensorClass& c = m_ctx.params.classes[i];
      if (c.role == TensorRole::quant_aux) {
        continue;
      }
      const Leaf& leaf = m_ctx.names[i].leaf;
      auto& bucket = leaf.kind == Leaf::weight ? ut.weight
                     : leaf.kind == Leaf::bias ? ut.bias
                                               : ut.param;
      bucket[leaf.module] += c.params;
      const TensorInfo& t = m_ctx.model.tensors[i];
      if (leaf.kind != Leaf::bias) {
        ut.first.emplace(leaf.module, &t);
      }
      ut.any_bias = ut.any_bias || leaf.kind == Leaf::bias;
      const NameFacts& name = m_ctx.names[i];
      if (name.expert) {
        ut.expert_ids.insert(*name.expert);
      }
      if (name.under_experts && ut.expert_ids.empty() && t.shape.size() >= 3) {
        ut.fused_experts = std::max(ut.fused_experts, t.shape[0]);
      }
    }
    return ut;
  }

  std::optional<uint64_t> cfg_count(std::string_view field) const { return m_ctx.cfg_count(field); }

  // What the shapes say about `field` of config.json.
  void reading(std::string what, std::optional<uint64_t> shapes, std::string field) {
    m_out.readings.push_back(
        {unit_where(m_out.units[m_unit]), {}, std::move(what), shapes, std::move(field), {}});
  }
  // ... or about a value the config implies otherwise (`label` names it).
  void reading(std::string what, std::optional<uint64_t> shapes, std::string label,
               uint64_t expected) {
    m_out.readings.push_back(
        {unit_where(m_out.units[m_unit]), {}, std::move(what), shapes, std::move(label), expected});
  }

  const nlohmann::json* vision_config() const {
    if (!m_cfg) {
      return nullptr;
    }
    auto it = m_cfg->raw.find("vision_config");
    return it != m_cfg->raw.end() && it->is_object() ? &*it : nullptr;
  }

  uint64_t hidden_for(const LayerUnit& u) const {
    if (const nlohmann::json* v = vision_config(); v && u.scope == "vision") {
      if (auto it = v->find("hidden_size"); it != v->end() && it->is_number_unsigned()) {
        return it->get<uint64_t>();
      }
    }
    return m_cfg ? m_cfg->hidden_size.value_or(0) : 0;
  }

  HeadShape head(const LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    HeadShape f;
    f.hidden_size = h;
    f.has_bias = ut.any_bias;
    f.lm_head = u.name == "lm_head";
    if (f.lm_head) {
      const uint64_t decoder_w = sum_of(ut.weight, {"lm_head", "embed_out", "output"});
      auto vocab = decoder_w ? div_exact(decoder_w, h) : std::nullopt;
      if (decoder_w) {
        reading("lm_head vocab_size", vocab, "vocab_size");
      } else {  // BERT: the decoder weight is tied, only its bias is stored
        vocab = m_cfg ? m_cfg->vocab_size : std::nullopt;
      }
      f.vocab_size = vocab.value_or(0);
    } else {
      f.output_size = div_exact(sum_all(ut.weight), h).value_or(0);
    }
    return f;
  }

  EmbeddingShape embedding(const LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    const TensorInfo* t = ut.first.empty() ? nullptr : ut.first.begin()->second;
    uint64_t dim = h;
    if (t && t->shape.size() == 2 && t->dtype != Dtype::U32 && t->dtype != Dtype::U8) {
      dim = t->shape[1];  // BERT/T5-style embeddings can differ from hidden_size
    }
    const auto rows = div_exact(sum_all(ut.weight), dim);
    if (u.name == "embedding") {
      reading("embedding rows", rows, "vocab_size");
    }
    return EmbeddingShape{rows.value_or(0), dim};
  }

  VisionShape vision(const LayerUnit& u) const {
    const nlohmann::json* v = vision_config();
    auto get = [&](const char* key) -> uint64_t {
      if (v) {
        if (auto it = v->find(key); it != v->end() && it->is_number_unsigned()) {
          return it->get<uint64_t>();
        }
      }
      return 0;
    };
    VisionShape f;
    f.hidden_size = hidden_for(u);
    if (u.name == "vision_layer") {
      f.part = VisionShape::layer;
      f.num_heads = get("num_attention_heads");
      if (f.num_heads == 0) {
        f.num_heads = get("num_heads");  // Qwen-VL vision configs
      }
      f.intermediate_size = get("intermediate_size");
    } else if (u.name == "vision_embeddings") {
      f.part = VisionShape::embeddings;
      f.patch_size = get("patch_size");
      f.image_size = get("image_size");
    } else {
      f.part = VisionShape::projector;
      f.text_hidden_size = m_cfg ? m_cfg->hidden_size.value_or(0) : 0;
    }
    return f;
  }

  UnitShape mixer(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    auto any_leaf = [&](std::initializer_list<std::string_view> names) {
      return std::any_of(names.begin(), names.end(), [&](std::string_view n) {
        return has(ut.weight, n) || has(ut.param, n) || has(ut.bias, n);
      });
    };
    if (rwkv_leaves(ut)) {
      u.name = "time_mix";
      return RwkvShape{true, h, div_exact(sum_of(ut.weight, {"key"}), h).value_or(0)};
    }
    if (any_leaf({"kv_a_proj_with_mqa", "kv_b_proj", "q_a_proj", "q_b_proj"})) {
      u.name = "attention";
      return mla(ut, h);
    }
    if (any_leaf({"f_a_proj", "f_b_proj", "q_conv1d"})) {
      u.name = "linear_attention";
      return kda(ut, h);
    }
    const bool under_linear_attn = std::any_of(u.tensors.begin(), u.tensors.end(), [&](size_t i) {
      return m_ctx.model.tensors[i].name.find(".linear_attn.") != std::string::npos;
    });
    if (any_leaf({"in_proj_qkvz", "in_proj_qkv", "in_proj_ba"}) || under_linear_attn) {
      u.name = "linear_attention";
      return delta_net(ut, h);
    }
    if (any_leaf({"x_proj", "dt_proj"}) || (any_leaf({"in_proj"}) && any_leaf({"a_log"}))) {
      u.name = "mamba";
      return mamba(ut, h);
    }
    if (any_leaf({"in_proj"}) && any_leaf({"conv"}) && any_leaf({"out_proj"})) {
      u.name = "short_conv";
      return short_conv(ut, h);
    }
    u.name = "attention";
    return attention(u, ut, h, false);
  }

  // q/k/v/o (separate or fused) -> heads, kv heads, head_dim.
  AttentionShape attention(const LayerUnit& u, const UnitTensors& ut, uint64_t h, bool cross) {
    AttentionShape f;
    f.cross = cross;
    f.hidden_size = h;
    const uint64_t hd_cfg = m_cfg ? m_cfg->head_dim.value_or(0) : 0;
    uint64_t hd = hd_cfg;
    if (const uint64_t qn = sum_of(ut.weight, {"q_norm"}); qn > 0) {
      if (hd_cfg) {
        reading("head_dim (q_norm)", qn, "head_dim");
      }
      hd = qn;
    }
    if (cross) {
      hd = hd_cfg;
    }
    const uint64_t q = sum_of(ut.weight, {"q_proj", "query", "q", "wq"});
    const uint64_t k = sum_of(ut.weight, {"k_proj", "key", "k", "wk"});
    const uint64_t fused =
        sum_of(ut.weight, {"qkv_proj", "query_key_value", "c_attn", "wqkv", "w_pack", "qkv"});
    std::optional<uint64_t> heads, kv_heads;
    // Families whose q_proj also produces a per-head output gate (twice the query rows).
    f.output_gate = m_cfg && family_traits(m_cfg->model_type).gated_query;
    if (q && k && h && hd) {
      heads = div_exact(q, (f.output_gate ? uint64_t{2} : uint64_t{1}) * h * hd);
      kv_heads = div_exact(k, h * hd);
    } else if (fused && h && hd) {
      const auto total = div_exact(fused, h * hd);
      heads = m_cfg ? m_cfg->num_heads : std::nullopt;
      if (total && heads && *total >= *heads) {
        kv_heads = div_exact(*total - *heads, 2);
      }
    }
    reading("num_heads", heads, "num_attention_heads");
    reading("num_kv_heads", kv_heads, "num_key_value_heads");
    f.num_heads = heads.value_or(m_cfg ? m_cfg->num_heads.value_or(0) : 0);
    f.num_kv_heads = kv_heads.value_or(m_cfg ? m_cfg->num_kv_heads.value_or(0) : 0);
    f.head_dim = hd;
    f.num_sinks = sum_of(ut.param, {"sinks"});
    f.has_bias = ut.any_bias;
    if (!cross && m_cfg && u.scope.empty() && u.layer && *u.layer < m_cfg->layer_attention.size()) {
      f.sliding = m_cfg->layer_attention[*u.layer] == MixerKind::sliding_attention;
    }
    f.sliding_window = m_cfg ? m_cfg->sliding_window.value_or(0) : 0;
    return f;
  }

  MlaShape mla(const UnitTensors& ut, uint64_t h) {
    MlaShape f;
    const uint64_t kv_lora = sum_of(ut.weight, {"kv_a_layernorm"});
    const uint64_t q_lora = sum_of(ut.weight, {"q_a_layernorm"});
    const auto kv_a_out = div_exact(sum_of(ut.weight, {"kv_a_proj_with_mqa"}), h);
    const uint64_t heads = m_cfg ? m_cfg->num_heads.value_or(0) : 0;
    std::optional<uint64_t> rope, nope, v;
    if (kv_a_out && *kv_a_out >= kv_lora) {
      rope = *kv_a_out - kv_lora;
    }
    const uint64_t q_w = q_lora ? sum_of(ut.weight, {"q_b_proj"}) : sum_of(ut.weight, {"q_proj"});
    const auto q_out = div_exact(q_w, q_lora ? q_lora : h);
    if (q_out && rope && heads) {
      if (auto qk = div_exact(*q_out, heads); qk && *qk >= *rope) {
        nope = *qk - *rope;
      }
    }
    if (const auto kv_b_out = div_exact(sum_of(ut.weight, {"kv_b_proj"}), kv_lora);
        kv_b_out && nope && heads) {
      if (auto per = div_exact(*kv_b_out, heads); per && *per >= *nope) {
        v = *per - *nope;
      }
    }
    reading("kv_lora_rank", kv_lora, "kv_lora_rank");
    reading("q_lora_rank", q_lora, "q_lora_rank", cfg_count("q_lora_rank").value_or(0));
    reading("qk_rope_head_dim", rope, "qk_rope_head_dim");
    reading("qk_nope_head_dim", nope, "qk_nope_head_dim");
    reading("v_head_dim", v, "v_head_dim");
    f.hidden_size = h;
    f.num_heads = heads;
    f.q_lora_rank = q_lora;
    f.kv_lora_rank = kv_lora;
    f.qk_nope_head_dim = nope.value_or(0);
    f.qk_rope_head_dim = rope.value_or(0);
    f.v_head_dim = v.value_or(0);
    return f;
  }

  DeltaNetShape delta_net(const UnitTensors& ut, uint64_t h) {
    DeltaNetShape f;
    const uint64_t nv = sum_of(ut.param, {"a_log"});
    const uint64_t dv = sum_of(ut.weight, {"norm"});
    uint64_t conv_channels = 0, kernel = 0;
    if (auto it = ut.first.find("conv1d"); it != ut.first.end() && it->second->shape.size() == 3) {
      conv_channels = it->second->shape[0];
      kernel = it->second->shape[2];
    }
    const uint64_t dk = cfg_count("linear_key_head_dim").value_or(dv);
    std::optional<uint64_t> nk;
    if (conv_channels >= nv * dv && dk) {
      if (auto kk = div_exact(conv_channels - nv * dv, 2)) {
        nk = div_exact(*kk, dk);
      }
    }
    if (const uint64_t qkvz = sum_of(ut.weight, {"in_proj_qkvz"}); qkvz && nk) {
      reading("in_proj_qkvz rows", div_exact(qkvz, h), "linear_* head counts and dims",
              2 * *nk * dk + 2 * nv * dv);
    }
    reading("linear_num_value_heads", nv, "linear_num_value_heads");
    reading("linear_value_head_dim", dv, "linear_value_head_dim");
    reading("linear_num_key_heads", nk, "linear_num_key_heads");
    reading("linear_conv_kernel_dim", kernel, "linear_conv_kernel_dim");
    f.hidden_size = h;
    f.num_key_heads = nk.value_or(0);
    f.num_value_heads = nv;
    f.key_head_dim = dk;
    f.value_head_dim = dv;
    f.conv_kernel = kernel;
    return f;
  }

  // Kimi Delta Attention: q/k/v projections of heads x head_dim, a short conv on each, A_log
  // per head, the decay (f_a/f_b) and output-gate (g_a/g_b or g_proj) projections, b_proj, a
  // gated o_norm over head_dim, o_proj. Keys and values share heads and head_dim.
  DeltaNetShape kda(const UnitTensors& ut, uint64_t h) {
    DeltaNetShape f;
    const uint64_t heads = sum_of(ut.param, {"a_log"});
    // f_a_proj maps the hidden state to one head_dim-wide decay input.
    const uint64_t head_dim = div_exact(sum_of(ut.weight, {"f_a_proj"}), h).value_or(0);
    uint64_t kernel = 0;
    if (auto it = ut.first.find("q_conv1d");
        it != ut.first.end() && it->second->shape.size() == 3) {
      kernel = it->second->shape[2];
    }
    reading("linear_num_key_heads", heads, "linear_num_key_heads");
    reading("linear_key_head_dim", head_dim, "linear_key_head_dim");
    reading("linear_conv_kernel_dim", kernel, "linear_conv_kernel_dim");
    f.hidden_size = h;
    f.num_key_heads = f.num_value_heads = heads;
    f.key_head_dim = f.value_head_dim = head_dim;
    f.conv_kernel = kernel;
    return f;
  }

  MambaShape mamba(const UnitTensors& ut, uint64_t h) {
    MambaShape f;
    uint64_t d_state = cfg_count("state_size").value_or(0);
    uint64_t d_inner = 0;
    if (auto it = ut.first.find("a_log"); it != ut.first.end() && it->second->shape.size() == 2) {
      d_inner = it->second->shape[0];
      reading("d_state", it->second->shape[1], "state_size");
      d_state = it->second->shape[1];
    }
    uint64_t kernel = 0;
    if (auto it = ut.first.find("conv1d"); it != ut.first.end() && it->second->shape.size() == 3) {
      kernel = it->second->shape[2];
      if (d_inner == 0) {
        d_inner = it->second->shape[0];
      }
    }
    f.mamba2 = !has(ut.weight, "x_proj");
    // Mamba-2's conv1d also runs over B and C: its inner width is out_proj's input.
    if (const auto out = div_exact(sum_of(ut.weight, {"out_proj"}), h); f.mamba2 && out) {
      d_inner = *out;
    }
    const auto dt_rank = div_exact(sum_of(ut.weight, {"dt_proj"}), d_inner);
    reading("conv_kernel", kernel, "conv_kernel");
    if (!f.mamba2) {
      reading("time_step_rank", dt_rank, "time_step_rank");
      if (auto expand = cfg_count("expand"); expand && h) {
        reading("d_inner", d_inner, "expand × hidden_size", *expand * h);
      }
    }
    f.hidden_size = h;
    f.d_inner = d_inner;
    f.d_state = d_state;
    f.d_conv = kernel;
    f.dt_rank = dt_rank.value_or(0);
    return f;
  }

  ShortConvShape short_conv(const UnitTensors& ut, uint64_t h) {
    ShortConvShape f;
    f.hidden_size = h;
    if (auto it = ut.first.find("conv"); it != ut.first.end() && it->second->shape.size() == 3) {
      f.conv_dim = it->second->shape[0];
      f.cache = it->second->shape[2];
    }
    reading("conv_L_cache", f.cache, "conv_L_cache");
    f.has_bias = ut.any_bias;
    return f;
  }

  UnitShape mlp(LayerUnit& u, const UnitTensors& ut, uint64_t h) {
    if (rwkv_leaves(ut)) {
      u.name = "channel_mix";
      return RwkvShape{false, h, div_exact(sum_of(ut.weight, {"key"}), h).value_or(0)};
    }
    u.name = "mlp";
    MlpShape f;
    f.hidden_size = h;
    // Fused gate + up: gate_up_proj, w13, Granite's input_linear.
    const uint64_t gate_up = sum_of(ut.weight, {"gate_up_proj", "w13", "input_linear"});
    f.gated = gate_up > 0 || has(ut.weight, "gate_proj") || has(ut.weight, "wi_0") ||
              (has(ut.weight, "w1") && has(ut.weight, "w3"));
    std::optional<uint64_t> inter;
    if (gate_up) {
      inter = div_exact(gate_up, 2 * h);
    } else if (f.gated) {
      inter = div_exact(has(ut.weight, "up_proj") ? sum_of(ut.weight, {"up_proj"})
                        : has(ut.weight, "wi_1")  ? sum_of(ut.weight, {"wi_1"})
                                                  : sum_of(ut.weight, {"w3"}),
                        h);
    } else {
      inter = div_exact(sum_all(ut.weight), 2 * h);
    }
    // Llama 4 names its dense layers' width intermediate_size_mlp (intermediate_size is the
    // experts'); Granite 4.0 shared_intermediate_size (the family table says).
    const std::string_view width_field =
        cfg_count("intermediate_size_mlp")
            ? std::string_view("intermediate_size_mlp")
            : family_traits(m_cfg ? m_cfg->model_type : "").dense_width_field;
    reading("intermediate_size", inter, std::string(width_field));
    f.intermediate_size = inter.value_or(0);
    f.has_bias = ut.any_bias;
    return f;
  }

  MoeShape moe(LayerUnit& u, uint64_t h) {
    u.name = "moe";
    std::vector<size_t> routed, shared;
    for (size_t i : u.tensors) {
      const NameFacts& name = m_ctx.names[i];
      if (name.shared_expert && !name.shared_expert_gate) {
        shared.push_back(i);
      } else if (name.routed_expert) {
        routed.push_back(i);
      }
    }
    const UnitTensors r = collect(routed);
    const UnitTensors sh = collect(shared);
    MoeShape f;
    uint64_t experts = r.expert_ids.size();
    if (experts == 0) {
      experts = r.fused_experts;
    }
    uint64_t projections = 0;
    for (const auto& [leaf, n] : r.weight) {
      projections +=
          leaf.find("gate_up") != std::string::npos || leaf == "w13" || leaf == "input_linear"
              ? uint64_t{2}
              : uint64_t{1};
    }
    std::optional<uint64_t> inter;
    if (experts && projections && h) {
      inter = div_exact(sum_all(r.weight), experts * projections * h);
    }
    const uint64_t shared_w = sum_all(sh.weight);
    std::optional<uint64_t> shared_inter;
    if (shared_w && projections && h) {
      shared_inter = div_exact(shared_w, projections * h);
    }
    uint64_t num_shared = 0;
    // A config that names both the shared experts and their width (Nemotron-H: 1 of 3,712
    // beside experts of 1,856) is read as it says; else the width in experts' widths.
    const uint64_t cfg_shared = m_cfg ? m_cfg->count("num_shared_experts").value_or(0) : 0;
    const uint64_t cfg_shared_width =
        m_cfg ? m_cfg->shared_expert_intermediate_size.value_or(0) : 0;
    if (shared_inter && cfg_shared > 0 && cfg_shared_width == *shared_inter) {
      num_shared = cfg_shared;
    } else if (shared_inter && inter) {
      num_shared = div_exact(*shared_inter, *inter).value_or(1);
    }
    reading("num_experts", experts ? std::optional<uint64_t>(experts) : std::nullopt,
            "num_experts");
    reading("expert intermediate_size", inter, "moe_intermediate_size");
    if (shared_inter) {
      reading("num_shared_experts", num_shared, "n_shared_experts");
    }
    f.hidden_size = h;
    f.intermediate_size = inter.value_or(0);
    f.num_experts = experts;
    f.top_k = m_cfg ? m_cfg->top_k.value_or(0) : 0;
    f.num_shared_experts = num_shared;
    f.num_projections = projections;
    f.has_bias = r.any_bias;
    if (shared_inter && num_shared * inter.value_or(0) != *shared_inter) {
      f.shared_expert_intermediate_size = *shared_inter;
    }
    if (m_cfg) {
      if (const auto* v = m_cfg->find("scoring_func"); v && v->is_string()) {
        f.scoring_func = v->get<std::string>();
      }
      if (const auto* v = m_cfg->find("topk_method"); v && v->is_string()) {
        f.topk_method = v->get<std::string>();
      }
    }
    return f;
  }

  MapContext& m_ctx;
  LayerMap& m_out;
  const ModelConfig* m_cfg;
  size_t m_unit = 0;
};

}  // namespace

void read_shapes(MapContext& ctx, LayerMap& out) {
  Reader reader(ctx, out);
  for (size_t i = 0; i < out.units.size(); ++i) {
    reader.read(i);
  }
}

}  // namespace mbuild
