#include "mbuild/render/gap_report.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "mbuild/snapshot/dtype.hpp"
#include "mbuild/snapshot/safetensors.hpp"

namespace mbuild {
namespace {

using nlohmann::ordered_json;

// The context length the worked examples use: fixed, so reports do not depend on a flag.
constexpr uint64_t k_example_context = 4096;
constexpr size_t k_max_tensor_rows = 40;

// 1179648 -> "1,179,648"
std::string num(uint64_t n) {
  std::string digits = fmt::format("{}", n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

std::string bytes_text(uint64_t n) {
  constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto d = static_cast<double>(n);
  size_t unit = 0;
  while (d >= 1024 && unit + 1 < std::size(k_units)) {
    d /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", n)
                   : fmt::format("{} B ({:.2f} {})", num(n), d, k_units[unit]);
}

uint64_t spec(const ordered_json& s, const char* key) {
  auto it = s.find(key);
  if (it == s.end()) {
    return 0;
  }
  if (it->is_number_unsigned()) {
    return it->get<uint64_t>();
  }
  if (it->is_boolean()) {
    return it->get<bool>() ? 1 : 0;
  }
  return 0;
}

// What a class hook sees: one entry of one model.
struct Numbers {
  const ordered_json& s;  // the entry's specs
  uint64_t params = 0;    // per unit
  uint64_t count = 0;     // units
  uint64_t matmul = 0;    // params of the representative unit's 2-D weight matrices
  uint64_t bytes = 2;     // bytes per activation / cache element (the model dtype)
  uint64_t tp = 1;        // the tensor-parallel degree of the worked split
};

using Hook = std::string (*)(const Numbers&);

// ----- class hooks: formulas with this model's numbers -----------------------------------

std::string attention_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"),
                 heads = std::max(spec(n.s, "num_heads"), spec(n.s, "num_query_heads"));
  const uint64_t kv = spec(n.s, "num_kv_heads") ? spec(n.s, "num_kv_heads") : heads;
  const uint64_t hd = spec(n.s, "head_dim");
  const uint64_t core = h * heads * hd + 2 * h * kv * hd + heads * hd * h;
  return fmt::format(
      "q, k, v, o weights = H·n·d + 2·H·n_kv·d + n·d·H = {}·{}·{} + 2·{}·{}·{} + {}·{}·{} = {}; "
      "the remaining {} are biases, sinks and norms inside the block",
      h, heads, hd, h, kv, hd, heads, hd, h, num(core), num(n.params - std::min(core, n.params)));
}

std::string attention_flops(const Numbers& n) {
  const uint64_t heads = std::max(spec(n.s, "num_heads"), spec(n.s, "num_query_heads"));
  const uint64_t hd = spec(n.s, "head_dim");
  const uint64_t proj = 2 * n.matmul, attn = 4 * heads * hd * k_example_context;
  return fmt::format(
      "projections 2·{} = {}; scores and weighted values 4·n·d·L = 4·{}·{}·{} = {} at L = {}; "
      "total {} FLOPs per token per layer",
      num(n.matmul), num(proj), heads, hd, num(k_example_context), num(attn),
      num(k_example_context), num(proj + attn));
}

std::string attention_memory(const Numbers& n) {
  const uint64_t heads = std::max(spec(n.s, "num_heads"), spec(n.s, "num_query_heads"));
  const uint64_t kv = spec(n.s, "num_kv_heads") ? spec(n.s, "num_kv_heads") : heads;
  const uint64_t hd = spec(n.s, "head_dim");
  const uint64_t per_token = 2 * kv * hd * n.bytes;
  return fmt::format(
      "KV cache 2·n_kv·d·bytes = 2·{}·{}·{} = {} per token per layer; {} layers at L = {}: {}", kv,
      hd, n.bytes, bytes_text(per_token), n.count, num(k_example_context),
      bytes_text(per_token * n.count * k_example_context));
}

std::string cross_memory(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads"), hd = spec(n.s, "head_dim");
  const uint64_t per_token = 2 * heads * hd * n.bytes;
  return fmt::format(
      "cross-attention K/V are computed once from the encoder output: 2·n·d·bytes = 2·{}·{}·{} "
      "= {} per encoder token per layer; {} layers with a {}-token encoder input: {}",
      heads, hd, n.bytes, bytes_text(per_token), n.count, num(512),
      bytes_text(per_token * n.count * 512));
}

std::string mla_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), heads = spec(n.s, "num_heads");
  const uint64_t qr = spec(n.s, "q_lora_rank"), r = spec(n.s, "kv_lora_rank");
  const uint64_t dn = spec(n.s, "qk_nope_head_dim"), dr = spec(n.s, "qk_rope_head_dim"),
                 dv = spec(n.s, "v_head_dim");
  const uint64_t q = qr ? h * qr + qr + qr * heads * (dn + dr) : h * heads * (dn + dr);
  const uint64_t kv_a = h * (r + dr), kv_b = r * heads * (dn + dv), o = heads * dv * h;
  const uint64_t sum = q + kv_a + r + kv_b + o;
  std::string q_text =
      qr ? fmt::format(
               "q_a H·q_r + q_a_norm q_r + q_b q_r·n·(d_nope+d_rope) = {}·{} + {} + "
               "{}·{}·({}+{}) = {}",
               h, qr, qr, qr, heads, dn, dr, num(q))
         : fmt::format("q_proj H·n·(d_nope+d_rope) = {}·{}·({}+{}) = {}", h, heads, dn, dr, num(q));
  return fmt::format(
      "{}; kv_a_proj_with_mqa H·(r_kv+d_rope) = {}·({}+{}) = {}; kv_a_layernorm r_kv = {}; "
      "kv_b_proj r_kv·n·(d_nope+d_v) = {}·{}·({}+{}) = {}; o_proj n·d_v·H = {}·{}·{} = {}; "
      "sum {} ({} the stored {})",
      q_text, h, r, dr, num(kv_a), r, r, heads, dn, dv, num(kv_b), heads, dv, h, num(o), num(sum),
      sum == n.params ? "equals" : "differs from", num(n.params));
}

std::string mla_flops(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads"), r = spec(n.s, "kv_lora_rank");
  const uint64_t dn = spec(n.s, "qk_nope_head_dim"), dr = spec(n.s, "qk_rope_head_dim"),
                 dv = spec(n.s, "v_head_dim");
  const uint64_t proj = 2 * n.matmul;
  const uint64_t naive =
      2 * heads * (dn + dr) * k_example_context + 2 * heads * dv * k_example_context;
  const uint64_t absorbed =
      2 * heads * (r + dr) * k_example_context + 2 * heads * r * k_example_context;
  return fmt::format(
      "projections 2·{} = {}; attention at L = {}: naive (K/V decompressed) "
      "2·n·(d_nope+d_rope)·L + 2·n·d_v·L = {}; weight-absorbed decode (scores against the "
      "latent) 2·n·(r_kv+d_rope)·L + 2·n·r_kv·L = {}",
      num(n.matmul), num(proj), num(k_example_context), num(naive), num(absorbed));
}

std::string mla_memory(const Numbers& n) {
  const uint64_t r = spec(n.s, "kv_lora_rank"), dr = spec(n.s, "qk_rope_head_dim");
  const uint64_t heads = spec(n.s, "num_heads"), dn = spec(n.s, "qk_nope_head_dim"),
                 dv = spec(n.s, "v_head_dim");
  const uint64_t per_token = (r + dr) * n.bytes;
  const uint64_t mha = heads * (dn + dr + dv) * n.bytes;
  return fmt::format(
      "latent cache (r_kv + d_rope)·bytes = ({}+{})·{} = {} per token per layer (an MHA cache "
      "of the same heads would hold n·(d_nope+d_rope+d_v)·bytes = {}); {} layers at L = {}: {}",
      r, dr, n.bytes, bytes_text(per_token), bytes_text(mha), n.count, num(k_example_context),
      bytes_text(per_token * n.count * k_example_context));
}

std::string gdn_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), nk = spec(n.s, "num_key_heads"),
                 nv = spec(n.s, "num_value_heads"), dk = spec(n.s, "key_head_dim"),
                 dv = spec(n.s, "value_head_dim"), k = spec(n.s, "conv_kernel");
  const uint64_t qkvz = h * (2 * nk * dk + 2 * nv * dv), ba = h * 2 * nv;
  const uint64_t conv = (2 * nk * dk + nv * dv) * k, out = nv * dv * h;
  const uint64_t sum = qkvz + ba + conv + 2 * nv + dv + out;
  return fmt::format(
      "in_proj_qkvz H·(2·n_k·d_k + 2·n_v·d_v) = {}·(2·{}·{} + 2·{}·{}) = {}; in_proj_ba "
      "H·2·n_v = {}·2·{} = {}; conv1d (2·n_k·d_k + n_v·d_v)·K = {}·{} = {}; A_log + dt_bias "
      "2·n_v = {}; norm d_v = {}; out_proj n_v·d_v·H = {}·{}·{} = {}; sum {} ({} the stored {})",
      h, nk, dk, nv, dv, num(qkvz), h, nv, num(ba), num(2 * nk * dk + nv * dv), k, num(conv),
      2 * nv, dv, nv, dv, h, num(out), num(sum), sum == n.params ? "equals" : "differs from",
      num(n.params));
}

std::string gdn_flops(const Numbers& n) {
  const uint64_t nk = spec(n.s, "num_key_heads"), nv = spec(n.s, "num_value_heads"),
                 dk = spec(n.s, "key_head_dim"), dv = spec(n.s, "value_head_dim"),
                 k = spec(n.s, "conv_kernel");
  const uint64_t conv = 2 * (2 * nk * dk + nv * dv) * k;
  const uint64_t recur = 6 * nv * dk * dv;
  return fmt::format(
      "projections 2·{} = {}; causal conv 2·C·K = {}; delta-rule recurrence per token "
      "(k·S, rank-1 update, q·S) ≈ 6·n_v·d_k·d_v = 6·{}·{}·{} = {}; total {} FLOPs per token "
      "per layer, independent of context length",
      num(n.matmul), num(2 * n.matmul), num(conv), nv, dk, dv, num(recur),
      num(2 * n.matmul + conv + recur));
}

std::string gdn_memory(const Numbers& n) {
  const uint64_t nk = spec(n.s, "num_key_heads"), nv = spec(n.s, "num_value_heads"),
                 dk = spec(n.s, "key_head_dim"), dv = spec(n.s, "value_head_dim"),
                 k = spec(n.s, "conv_kernel");
  const uint64_t state = nv * dk * dv * 4;
  const uint64_t conv = (2 * nk * dk + nv * dv) * (k > 0 ? k - 1 : 0) * n.bytes;
  return fmt::format(
      "constant state per sequence, no KV cache: recurrent state n_v·d_k·d_v·4 B (fp32) = "
      "{}·{}·{}·4 = {}; conv state C·(K−1)·bytes = {}; per layer {}; {} layers: {}",
      nv, dk, dv, bytes_text(state), bytes_text(conv), bytes_text(state + conv), n.count,
      bytes_text((state + conv) * n.count));
}

std::string mamba_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), di = spec(n.s, "d_inner"), ds = spec(n.s, "d_state"),
                 k = spec(n.s, "d_conv"), r = spec(n.s, "dt_rank");
  const uint64_t in = h * 2 * di, conv = di * k + di, x = di * (r + 2 * ds), dt = r * di + di,
                 a = di * ds, out = di * h;
  const uint64_t sum = in + conv + x + dt + a + di + out;
  return fmt::format(
      "in_proj H·2·d_inner = {}·2·{} = {}; conv1d d_inner·K + d_inner = {}; x_proj "
      "d_inner·(R+2·N) = {}·({}+2·{}) = {}; dt_proj R·d_inner + d_inner = {}; A_log "
      "d_inner·N = {}; D d_inner = {}; out_proj d_inner·H = {}; sum {} ({} the stored {})",
      h, di, num(in), num(conv), di, r, ds, num(x), num(dt), num(a), di, num(out), num(sum),
      sum == n.params ? "equals" : "differs from", num(n.params));
}

std::string mamba_flops(const Numbers& n) {
  const uint64_t di = spec(n.s, "d_inner"), ds = spec(n.s, "d_state"), k = spec(n.s, "d_conv");
  const uint64_t scan = 9 * di * ds, conv = 2 * di * k;
  return fmt::format(
      "projections 2·{} = {}; conv 2·d_inner·K = {}; selective scan (discretise, update, "
      "read out) ≈ 9·d_inner·N = 9·{}·{} = {}; total {} FLOPs per token per layer, "
      "independent of context length",
      num(n.matmul), num(2 * n.matmul), num(conv), di, ds, num(scan),
      num(2 * n.matmul + conv + scan));
}

std::string mamba_memory(const Numbers& n) {
  const uint64_t di = spec(n.s, "d_inner"), ds = spec(n.s, "d_state"), k = spec(n.s, "d_conv");
  const uint64_t ssm = di * ds * 4, conv = di * (k > 0 ? k - 1 : 0) * n.bytes;
  return fmt::format(
      "constant state per sequence: SSM state d_inner·N·4 B = {}·{}·4 = {}; conv state "
      "d_inner·(K−1)·bytes = {}; per layer {}; {} layers: {}",
      di, ds, bytes_text(ssm), bytes_text(conv), bytes_text(ssm + conv), n.count,
      bytes_text((ssm + conv) * n.count));
}

std::string head_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), v = spec(n.s, "vocab_size");
  if (v) {
    return fmt::format("vocab·H = {}·{} = {} (+ {} bias / transform params)", num(v), h, num(v * h),
                       num(n.params - std::min(n.params, v * h)));
  }
  return fmt::format("{} parameters (dense layers of the head)", num(n.params));
}

std::string head_flops(const Numbers& n) {
  return fmt::format(
      "2·{} = {} FLOPs per token that is projected (decode: every token; "
      "prefill: only the last one when only the next token is sampled)",
      num(n.matmul), num(2 * n.matmul));
}

std::string head_memory(const Numbers& n) {
  const uint64_t v = std::max(spec(n.s, "vocab_size"), spec(n.s, "output_size"));
  return fmt::format("no cache; logits v·4 B = {}·4 = {} per projected token (fp32)", num(v),
                     bytes_text(v * 4));
}

// "equals the stored 1,024" or "is 512 less than the stored 1,536".
std::string against_stored(uint64_t formula, uint64_t stored) {
  if (formula == stored) {
    return fmt::format("equals the stored {}", num(stored));
  }
  const bool more = formula > stored;
  return fmt::format("is {} {} than the stored {}", num(more ? formula - stored : stored - formula),
                     more ? "more" : "less", num(stored));
}

// A catalog-kind module no class sizes exactly: how its closest formula compares.
std::string custom_fit(uint64_t formula, uint64_t stored) {
  std::string out = against_stored(formula, stored);
  if (formula != stored) {
    out += "; the tensors above show where this module departs from it";
  }
  return out;
}

std::string text_spec(const ordered_json& s, const char* key) {
  auto it = s.find(key);
  return it != s.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string no_state_memory(const Numbers&) {
  return "no KV cache or state of its own";
}

// One add per bias element per token.
std::string bias_flops(const Numbers& n) {
  return fmt::format(
      "one add per bias element: {} FLOPs per token per unit (inference kernels fuse it into "
      "the projection's epilogue); no matrix products of its own",
      num(n.params));
}

std::string gated_attention_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), heads = spec(n.s, "num_heads");
  const uint64_t kv = spec(n.s, "num_kv_heads") ? spec(n.s, "num_kv_heads") : heads;
  const uint64_t hd = spec(n.s, "head_dim");
  const uint64_t q = h * 2 * heads * hd, k_v = 2 * h * kv * hd, o = heads * hd * h;
  return fmt::format(
      "q_proj (query and output gate) H·2·n·d = {}·2·{}·{} = {}; k_proj, v_proj 2·H·n_kv·d = "
      "2·{}·{}·{} = {}; o_proj n·d·H = {}·{}·{} = {}; sum {}, which {}{}",
      h, heads, hd, num(q), h, kv, hd, num(k_v), heads, hd, h, num(o), num(q + k_v + o),
      against_stored(q + k_v + o, n.params),
      spec(n.s, "has_bias") != 0 ? " (the projections' biases come on top)" : "");
}

std::string gated_attention_flops(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads"), hd = spec(n.s, "head_dim");
  const uint64_t proj = 2 * n.matmul, attn = 4 * heads * hd * k_example_context,
                 gate = 2 * heads * hd;
  return fmt::format(
      "projections 2·{} = {} (the doubled q_proj included); scores and weighted values "
      "4·n·d·L = 4·{}·{}·{} = {} at L = {}; output gate, sigmoid and product, ≈ 2·n·d = {}; "
      "total {} FLOPs per token per layer",
      num(n.matmul), num(proj), heads, hd, num(k_example_context), num(attn),
      num(k_example_context), num(gate), num(proj + attn + gate));
}

std::string custom_attention_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), heads = spec(n.s, "num_heads");
  const uint64_t kv = spec(n.s, "num_kv_heads") ? spec(n.s, "num_kv_heads") : heads;
  const uint64_t hd = spec(n.s, "head_dim");
  const uint64_t core = 2 * h * heads * hd + 2 * h * kv * hd;
  return fmt::format(
      "the closest catalog formula, q, k, v, o weights 2·H·n·d + 2·H·n_kv·d = 2·{}·{}·{} + "
      "2·{}·{}·{} = {}, {}",
      h, heads, hd, h, kv, hd, num(core), custom_fit(core, n.params));
}

std::string custom_mlp_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), i = spec(n.s, "intermediate_size");
  if (!n.s.contains("gated")) {
    return fmt::format(
        "plain 2·H·I = 2·{}·{} = {} or gated 3·H·I = 3·{}·{} = {}, against the stored {}; the "
        "tensors above show where this module departs from them",
        h, i, num(2 * h * i), h, i, num(3 * h * i), num(n.params));
  }
  const bool gated = spec(n.s, "gated") != 0, bias = spec(n.s, "has_bias") != 0;
  const uint64_t weights = (gated ? 3 : 2) * h * i;
  const uint64_t biases = bias ? (gated ? 2 * i + h : i + h) : 0;
  return fmt::format(
      "{} {}·H·I = {}·{}·{} = {}{}; sum {}, which {}", gated ? "gate, up and down" : "up and down",
      gated ? 3 : 2, gated ? 3 : 2, h, i, num(weights),
      bias ? fmt::format(" + biases {} = {}", gated ? "2·I + H" : "I + H", num(biases))
           : std::string(),
      num(weights + biases), custom_fit(weights + biases, n.params));
}

// Routed experts, router and shared experts from a MoE entry's specs.
struct MoeSizes {
  uint64_t router = 0, experts = 0, shared = 0, per_expert = 0;
  std::string shared_text;
};

MoeSizes moe_sizes(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), i = spec(n.s, "intermediate_size"),
                 e = spec(n.s, "num_experts"), p = spec(n.s, "num_projections"),
                 shared_n = spec(n.s, "num_shared_experts"),
                 shared_i = spec(n.s, "shared_expert_intermediate_size");
  MoeSizes m;
  m.router = e * h;
  m.per_expert = p * h * i;
  m.experts = e * m.per_expert;
  m.shared = shared_i ? p * h * shared_i : shared_n * m.per_expert;
  m.shared_text =
      shared_i ? fmt::format("p·H·I_shared = {}·{}·{} = {}", p, h, shared_i, num(m.shared))
               : fmt::format("n_shared·p·H·I = {}·{}·{}·{} = {}", shared_n, p, h, i, num(m.shared));
  return m;
}

std::string custom_moe_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), i = spec(n.s, "intermediate_size"),
                 e = spec(n.s, "num_experts"), p = spec(n.s, "num_projections");
  const MoeSizes m = moe_sizes(n);
  const uint64_t sum = m.router + m.experts + m.shared;
  return fmt::format(
      "router E·H = {}·{} = {}; routed experts E·p·H·I = {}·{}·{}·{} = {}; shared experts {}; "
      "sum {}, which {}",
      e, h, num(m.router), e, p, h, i, num(m.experts), m.shared_text, num(sum),
      custom_fit(sum, n.params));
}

std::string custom_moe_flops(const Numbers& n) {
  const uint64_t k = spec(n.s, "top_k"), e = spec(n.s, "num_experts");
  const MoeSizes m = moe_sizes(n);
  const uint64_t active = m.router + k * m.per_expert + m.shared;
  return fmt::format(
      "a token runs the router, top_k = {} of the E = {} routed experts and the shared experts: "
      "2·(E·H + k·p·H·I + shared) = {} FLOPs per token per layer (2·{} = {} if every stored "
      "matrix ran)",
      k, e, num(2 * active), num(n.matmul), num(2 * n.matmul));
}

std::string custom_moe_memory(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), k = spec(n.s, "top_k");
  return fmt::format(
      "no KV cache or state; dispatch buffers top_k·H·bytes = {}·{}·{} = {} per token and layer "
      "(sent all-to-all under EP)",
      k, h, n.bytes, bytes_text(k * h * n.bytes));
}

std::string custom_norm_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), w = spec(n.s, "has_bias") != 0 ? 2 : 1;
  return fmt::format("NormLayer's (has_bias ? 2 : 1)·H = {}·{} = {}, which {}", w, h, num(w * h),
                     custom_fit(w * h, n.params));
}

std::string norm_flops(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size");
  return fmt::format(
      "elementwise, no matrix products: ≈ 4·H = 4·{} = {} FLOPs per token per unit (square, "
      "sum, normalise, scale; a LayerNorm's mean and shift add ≈ 3·H)",
      h, num(4 * h));
}

std::string custom_embedding_formula(const Numbers& n) {
  const uint64_t v = spec(n.s, "vocab_size"), h = spec(n.s, "hidden_size");
  return fmt::format("EmbeddingLayer's V·H = {}·{} = {}, which {}", num(v), h, num(v * h),
                     custom_fit(v * h, n.params));
}

std::string embedding_flops(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size");
  return fmt::format("a row lookup, no FLOPs: one H-wide row read per token, H·bytes = {}·{} = {}",
                     h, n.bytes, bytes_text(h * n.bytes));
}

std::string sinks_formula(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads");
  return fmt::format("one sink logit per query head: n = {}, which {}", heads,
                     against_stored(heads, n.params));
}

std::string sinks_flops(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads");
  return fmt::format(
      "≈ 2·n = 2·{} = {} FLOPs per token per layer (an exp and an add in each head's softmax "
      "denominator), beside the 4·n·d·L of the attention itself; no matrix products",
      heads, num(2 * heads));
}

std::string sinks_memory(const Numbers&) {
  return "no KV cache or state: a sink has a logit but no key or value, so nothing grows with "
         "the context";
}

std::string relative_bias_formula(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads");
  const uint64_t buckets = heads ? n.params / heads : 0;
  return fmt::format(
      "num_buckets·n = {}·{} = {} (num_buckets read off the table), which {}; one table per "
      "stack, held by its first layer and used by all its layers",
      buckets, heads, num(buckets * heads), against_stored(buckets * heads, n.params));
}

std::string relative_bias_flops(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads");
  return fmt::format(
      "a gather of the [L_q, L_k, n] bias from the table, once per stack and forward, then one "
      "add per attention score in every layer of the stack: n·L = {}·{} = {} adds per token "
      "per layer at L = {}; no matrix products",
      heads, num(k_example_context), num(heads * k_example_context), num(k_example_context));
}

std::string relative_bias_memory(const Numbers& n) {
  const uint64_t heads = spec(n.s, "num_heads"), l = k_example_context;
  return fmt::format(
      "no KV cache; the bias [1, n, L_q, L_k] is built once per forward and shared by the "
      "stack's layers: n·L·L·bytes = {}·{}·{}·{} = {} for a {}-token prefill (a decoded token "
      "needs one row, n·L·bytes = {})",
      heads, num(l), num(l), n.bytes, bytes_text(heads * l * l * n.bytes), num(l),
      bytes_text(heads * l * n.bytes));
}

std::string attention_bias_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), q = spec(n.s, "q_dim"), kv = spec(n.s, "kv_dim");
  const uint64_t qkv = q + 2 * kv;
  const bool o_bias = h != 0 && n.params == qkv + h;
  const uint64_t sum = o_bias ? qkv + h : qkv;
  return fmt::format("q, k, v biases q_dim + 2·kv_dim = {} + 2·{} = {}{}; sum {}, which {}", q, kv,
                     num(qkv), o_bias ? fmt::format("; o bias H = {}", h) : std::string(), num(sum),
                     against_stored(sum, n.params));
}

std::string attention_bias_memory(const Numbers&) {
  return "no cache or state of its own: k and v are cached after their biases are added, so "
         "the KV cache is the same as without them";
}

std::string mlp_bias_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), i = spec(n.s, "intermediate_size");
  if (n.params == 2 * i + h) {
    return fmt::format("gate and up biases 2·I + down bias H = 2·{} + {} = {}, which {}", i, h,
                       num(2 * i + h), against_stored(2 * i + h, n.params));
  }
  return fmt::format("up bias I + down bias H = {} + {} = {}, which {}", i, h, num(i + h),
                     against_stored(i + h, n.params));
}

std::string expert_bias_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size"), i = spec(n.s, "intermediate_size"),
                 e = spec(n.s, "num_experts");
  if (n.params == e * (2 * i + h)) {
    return fmt::format(
        "gate, up and down biases of every expert E·(2·I + H) = {}·(2·{} + {}) = {}, which {}", e,
        i, h, num(e * (2 * i + h)), against_stored(e * (2 * i + h), n.params));
  }
  return fmt::format("up and down biases of every expert E·(I + H) = {}·({} + {}) = {}, which {}",
                     e, i, h, num(e * (i + h)), against_stored(e * (i + h), n.params));
}

std::string expert_bias_flops(const Numbers& n) {
  const uint64_t e = spec(n.s, "num_experts");
  return fmt::format(
      "one add per bias element of each chosen expert: {} per expert and token, times the "
      "top_k experts a token runs; no matrix products of its own (the experts' are MoELayer's)",
      num(e ? n.params / e : 0));
}

std::string router_bias_formula(const Numbers& n) {
  const uint64_t e = spec(n.s, "num_experts");
  return fmt::format("one bias per routed expert: E = {}, which {}", e,
                     against_stored(e, n.params));
}

std::string router_bias_flops(const Numbers& n) {
  const uint64_t e = spec(n.s, "num_experts");
  const std::string scoring = text_spec(n.s, "scoring_func"),
                    method = text_spec(n.s, "topk_method");
  return fmt::format(
      "E = {} adds per token per layer, before the top-k (scoring_func {}, topk_method {}); the "
      "router's product 2·E·H is MoELayer's",
      e, scoring.empty() ? "not given" : scoring, method.empty() ? "not given" : method);
}

std::string router_bias_memory(const Numbers&) {
  return "no cache or state; replicated on every TP and EP rank, since each rank chooses "
         "experts for its own tokens among all E";
}

std::string shared_gate_formula(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size");
  return fmt::format("W_g is 1 × H: H = {}, which {}", num(h), against_stored(h, n.params));
}

std::string shared_gate_flops(const Numbers& n) {
  const uint64_t h = spec(n.s, "hidden_size");
  return fmt::format(
      "gate logit 2·H = {}, one sigmoid, and H = {} multiplies scaling the shared expert's "
      "output: ≈ 3·H = {} FLOPs per token per layer",
      num(2 * h), num(h), num(3 * h));
}

std::string generic_formula(const Numbers& n) {
  return fmt::format("Σ of the tensors above = {} per unit; {} units = {}", num(n.params), n.count,
                     num(n.params * n.count));
}

std::string generic_flops(const Numbers& n) {
  return fmt::format("matrix products 2·{} = {} FLOPs per token per unit", num(n.matmul),
                     num(2 * n.matmul));
}

std::string generic_memory(const Numbers& n) {
  return fmt::format("no KV cache or recurrent state of its own; weights {} per unit",
                     bytes_text(n.params * n.bytes));
}

std::string buffer_memory(const Numbers& n) {
  return fmt::format("{} elements stored per unit ({} as stored dtype); no FLOPs, not trained",
                     num(n.params), bytes_text(n.params * n.bytes));
}

// ----- the worked tensor-parallel split ----------------------------------------------------

// The parameters of one unit on each TP rank, and how they are divided.
struct RankShare {
  uint64_t params = 0;
  std::string how;
};

using ShareHook = RankShare (*)(const Numbers&);

RankShare sharded_share(const Numbers& n) {
  return {n.params / n.tp, fmt::format("{} / {}", num(n.params), n.tp)};
}

RankShare replicated_share(const Numbers& n) {
  return {n.params, "replicated on every rank"};
}

// q, k, v biases split with the column-parallel heads; an o bias (row-parallel) kept whole.
RankShare attention_bias_share(const Numbers& n) {
  const uint64_t qkv = std::min(n.params, spec(n.s, "q_dim") + 2 * spec(n.s, "kv_dim"));
  const uint64_t whole = n.params - qkv;
  return {
      qkv / n.tp + whole,
      fmt::format("{} / {} of the q, k, v biases{}, when the KV heads divide among the ranks; "
                  "with fewer KV heads than ranks each rank keeps a whole KV head's biases",
                  num(qkv), n.tp,
                  whole ? fmt::format(", plus the o bias {} whole", num(whole)) : std::string())};
}

// Up (and gate) biases split with the intermediate channels; the down bias kept whole.
RankShare mlp_bias_share(const Numbers& n) {
  const uint64_t down = std::min(n.params, spec(n.s, "hidden_size"));
  const uint64_t split = n.params - down;
  return {split / n.tp + down,
          fmt::format("{} / {} of the up (and gate) biases, plus the down bias {} whole",
                      num(split), n.tp, num(down))};
}

// Experts split by intermediate channels (no EP): gate/up biases split, down biases whole.
RankShare expert_bias_share(const Numbers& n) {
  const uint64_t down = std::min(n.params, spec(n.s, "num_experts") * spec(n.s, "hidden_size"));
  const uint64_t split = n.params - down;
  return {split / n.tp + down,
          fmt::format("{} / {} of the gate/up biases, plus the E·H = {} down biases whole; under "
                      "EP instead whole experts, E / EP of them per rank",
                      num(split), n.tp, num(down))};
}

// ----- templates ---------------------------------------------------------------------------

struct GapTemplate {
  std::string_view layer_class;
  std::string_view file;
  std::string_view title;
  std::string_view computes;
  std::string_view references;
  std::string_view parallelism;
  Hook formula = generic_formula;
  Hook flops = generic_flops;
  Hook memory = generic_memory;
  ShareHook share = sharded_share;
  bool products = true;  // its 2-D tensors are matrix products (not bias or lookup tables)
};

constexpr std::string_view k_refs_tail =
    "- PyTorch: `torch.nn.Linear`, `torch.nn.functional.scaled_dot_product_attention` "
    "(https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention"
    ".html)\n";

const GapTemplate k_templates[] = {
    {"MultiHeadLatentAttentionLayer", "mla.md", "Multi-head latent attention (DeepSeek-V2/V3)",
     "c_kv = RMSNorm(W_kv_a_c · x)            (latent, r_kv wide)\n"
     "k_rope = RoPE(W_kv_a_r · x)              (one shared rope key, d_rope wide)\n"
     "q = W_q · x   or   q = W_q_b · RMSNorm(W_q_a · x)   split into q_nope (d_nope), q_rope "
     "(d_rope) per head\n"
     "[k_nope; v] = W_kv_b · c_kv               per head: d_nope + d_v\n"
     "o = W_o · softmax((q_nope·k_nope + RoPE(q_rope)·k_rope) / sqrt(d_nope + d_rope)) · v\n"
     "Decode absorbs W_kv_b into W_q and W_o so attention runs against c_kv directly; only "
     "c_kv and k_rope are cached.",
     "- transformers: `src/transformers/models/deepseek_v2/modeling_deepseek_v2.py` "
     "(`DeepseekV2Attention`), `models/deepseek_v3/modeling_deepseek_v3.py`\n"
     "- vLLM: `vllm/model_executor/layers/mla.py`, `vllm/attention/backends/mla/` "
     "(`MLACommonImpl`), `vllm/model_executor/models/deepseek_v2.py`\n"
     "- SGLang: `python/sglang/srt/models/deepseek_v2.py` (`DeepseekV2AttentionMLA`), "
     "FlashInfer / FlashMLA backends\n"
     "- Paper: DeepSeek-V2, arXiv:2405.04434 §2.1\n",
     "- TP: split heads (W_q/W_q_b, W_kv_b column-parallel, W_o row-parallel); W_kv_a and the "
     "latent norm are replicated (the latent is shared by all heads); one all-reduce of B·T·H "
     "after W_o.\n"
     "- DP-attention (SGLang/vLLM): replicate the layer per rank and shard the batch, since the "
     "latent cache cannot be split by head; all-gather before the MoE / MLP.\n"
     "- PP: whole layers per stage; send B·T·H activations between stages.\n"
     "- CP: split the sequence; ring / all-gather of the latent cache (r_kv + d_rope per "
     "token), far less than a full K/V.\n"
     "- SP: norms and residuals sharded on T between the TP all-reduce (reduce-scatter + "
     "all-gather).\n"
     "- EP: not applicable to attention.",
     mla_formula, mla_flops, mla_memory},
    {"LightningIndexerLayer", "lightning_indexer.md",
     "DSA lightning indexer (DeepSeek sparse attention: DeepSeek-V3.2, GLM-5)",
     "q_I = W_q_b^I · c_q   (the MLA query latent), n_I heads of d_I ;  k_I = LayerNorm(W_k^I · x)"
     "   (one key of d_I per token)\n"
     "RoPE on the first d_rope channels of q_I and k_I, then a Hadamard rotation; k_I cached in "
     "FP8 with one FP32 scale per 128 channels\n"
     "w = W_w · x   (one weight per indexer head)\n"
     "score(t, s) = Σ_h w_h · ReLU(q_I[t, h] · k_I[s])   over every cached token s\n"
     "The index_topk tokens of highest score are the only keys the MLA of the layer attends "
     "(GLM-5.2: layers marked \"shared\" in indexer_types reuse the previous indexer's picks).",
     "- DeepSeek: `DeepSeek-V3.2-Exp/inference/model.py` (`Indexer`, `fp8_index`)\n"
     "- transformers: `src/transformers/models/deepseek_v32/modeling_deepseek_v32.py`, "
     "`models/glm_moe_dsa/modeling_glm_moe_dsa.py`\n"
     "- vLLM: `vllm/model_executor/models/deepseek_v2.py` (`Indexer`), "
     "`vllm/v1/attention/backends/mla/indexer.py`, `flashmla_sparse.py`\n"
     "- SGLang: `python/sglang/srt/layers/attention/nsa/` (`NSATokenToKVPool` sizes the keys "
     "index_head_dim + index_head_dim / 128 · 4 bytes)\n"
     "- DeepGEMM: `fp8_mqa_logits` / `fp8_paged_mqa_logits`\n"
     "- Paper: DeepSeek-V3.2, DeepSeek Sparse Attention\n",
     "- TP: the indexer is small; vLLM and SGLang replicate it (or split its heads, summing the "
     "weighted scores with an all-reduce before top-k).\n"
     "- DP-attention: replicated with the MLA of the layer, batch sharded.\n"
     "- PP: with its layer.\n"
     "- CP: the key cache is split with the sequence; each rank scores its shard and the top-k "
     "is merged across ranks.\n"
     "- EP: not applicable.",
     generic_formula, generic_flops, generic_memory},
    {"GatedDeltaNetLayer", "gated_deltanet.md",
     "Gated delta-net linear attention (Qwen3-Next, Qwen3.5)",
     "[q, k, v, z] = W_qkvz · x ;  [b, a] = W_ba · x\n"
     "q, k, v = SiLU(causal_conv1d([q, k, v], K))   then q, k L2-normalised per head\n"
     "beta = sigmoid(b) ;  g = −exp(A_log) · softplus(a + dt_bias)   (per value head)\n"
     "S_t = exp(g) · S_{t−1} · (I − beta · k kᵀ) + beta · v kᵀ      (state d_k × d_v per head)\n"
     "o_t = S_t · q_t ;  y = W_out · (RMSNormGated(o_t) ⊙ SiLU(z))\n"
     "Key heads are shared by n_v / n_k value heads (grouped like GQA).",
     "- transformers: `src/transformers/models/qwen3_next/modeling_qwen3_next.py` "
     "(`Qwen3NextGatedDeltaNet`)\n"
     "- vLLM: `vllm/model_executor/models/qwen3_next.py`, "
     "`vllm/model_executor/layers/fla/ops/` (chunked gated delta rule), `mamba/` state cache\n"
     "- SGLang: `python/sglang/srt/models/qwen3_next.py`, "
     "`python/sglang/srt/layers/attention/fla/`\n"
     "- flash-linear-attention: `fla/ops/gated_delta_rule/` (chunk and fused_recurrent)\n"
     "- Paper: Gated Delta Networks, arXiv:2412.06464\n",
     "- TP: split value heads (and their key-head groups): W_qkvz / W_ba column-parallel by "
     "head, conv1d channels and A_log / dt_bias split with them, W_out row-parallel; one "
     "all-reduce of B·T·H.\n"
     "- PP: whole layers per stage, B·T·H activations sent between stages; the recurrent state "
     "stays on its stage.\n"
     "- CP: the recurrence is sequential in T: chunked scan with the state passed rank to rank "
     "(send/recv of n_v·d_k·d_v per sequence), or all-gather of chunk states.\n"
     "- SP: the norm and residual sharded on T around the TP collectives.\n"
     "- EP: not applicable.",
     gdn_formula, gdn_flops, gdn_memory},
    {"MambaMixerLayer", "mamba_mixer.md", "Mamba / Mamba2 selective-state-space mixer",
     "[x, z] = W_in · h                       (2·d_inner)\n"
     "x = SiLU(causal_conv1d(x, K))\n"
     "[dt_low, B, C] = W_x · x ;  dt = softplus(W_dt · dt_low + b_dt)\n"
     "A = −exp(A_log) ;  s_t = exp(dt·A) ⊙ s_{t−1} + dt·B·x_t   (state d_inner × N)\n"
     "y = C·s_t + D ⊙ x ;  out = W_out · (y ⊙ SiLU(z))\n"
     "Mamba2 computes B, C, dt in in_proj, uses scalar A per head and a gated RMSNorm.",
     "- transformers: `src/transformers/models/mamba/modeling_mamba.py` (`MambaMixer`), "
     "`models/mamba2/modeling_mamba2.py`, `models/jamba/modeling_jamba.py`\n"
     "- vLLM: `vllm/model_executor/layers/mamba/mamba_mixer.py`, `mamba_mixer2.py`\n"
     "- SGLang: `python/sglang/srt/layers/attention/mamba/`, `srt/models/` hybrid models\n"
     "- mamba-ssm: `mamba_ssm/ops/selective_scan_interface.py`, `causal-conv1d`\n"
     "- Paper: Mamba, arXiv:2312.00752; Mamba2, arXiv:2405.21060\n",
     "- TP: split d_inner channels (W_in column-parallel, conv1d / x_proj / dt_proj / A / D by "
     "channel; x_proj needs an all-reduce of its small R + 2N output in Mamba1), W_out "
     "row-parallel with one all-reduce of B·T·H.\n"
     "- PP: whole layers per stage; the SSM state stays with its stage.\n"
     "- CP: sequential scan: pass the d_inner·N state between ranks (chunked scan).\n"
     "- SP: norm and residual on T-shards.\n"
     "- EP: not applicable.",
     mamba_formula, mamba_flops, mamba_memory},
    {"ShortConvLayer", "short_conv.md", "LFM2 gated short convolution (token mixer)",
     "[B, C, x] = W_in · h                    (3·conv_dim)\n"
     "y = C ⊙ causal_depthwise_conv1d(B ⊙ x, K = conv_L_cache)\n"
     "out = W_out · y\n"
     "The decode state is the last conv_L_cache − 1 values of B ⊙ x per channel.",
     "- transformers: `src/transformers/models/lfm2/modeling_lfm2.py` (`Lfm2ShortConv`)\n"
     "- vLLM: `vllm/model_executor/layers/mamba/short_conv.py`, `models/lfm2.py`\n"
     "- llama.cpp: `src/models/lfm2.cpp` (`shortconv` block)\n"
     "- causal-conv1d: `causal_conv1d_fn`, `causal_conv1d_update`\n",
     "- TP: W_in column-parallel by channel (B, C and x each split the same way), the depthwise "
     "conv split by channel with them, W_out row-parallel; one all-reduce of B·T·H.\n"
     "- PP: whole layers per stage; the conv state stays with its stage.\n"
     "- CP: each shard needs the conv_L_cache − 1 previous tokens of its neighbour (a halo "
     "exchange of (K − 1)·conv_dim values per sequence).\n"
     "- SP: norm and residual on T-shards.\n"
     "- EP: not applicable."},
    {"RWKVTimeMixLayer", "rwkv_time_mix.md", "RWKV time mix (linear-attention token mixer)",
     "x_r, x_k, x_v = lerp(x_{t−1}, x_t, mu_r/k/v)   (token shift)\n"
     "r = W_r·x_r ; k = W_k·x_k ; v = W_v·x_v\n"
     "wkv_t = (Σ_{i<t} e^{−(t−1−i)w + k_i} v_i + e^{u + k_t} v_t) / (same without v)\n"
     "out = W_o · (sigmoid(r) ⊙ wkv_t)   (RWKV-4; v5/v6 use matrix-valued per-head states)",
     "- transformers: `src/transformers/models/rwkv/modeling_rwkv.py` (`RwkvSelfAttention`)\n"
     "- vLLM: `vllm/model_executor/models/` (RWKV through plugins / fla kernels)\n"
     "- SGLang: no native RWKV model; fla `fla/ops/rwkv6`, `rwkv7`\n"
     "- Paper: RWKV, arXiv:2305.13048; Eagle/Finch (v5/v6) arXiv:2404.05892\n",
     "- TP: split channels / heads of W_r, W_k, W_v (column) and W_o (row); one all-reduce of "
     "B·T·H.\n- PP: layers per stage.\n- CP: sequential state passed between ranks.\n"
     "- SP: norms on T-shards.\n- EP: not applicable.",
     generic_formula, generic_flops, generic_memory},
    {"RWKVChannelMixLayer", "rwkv_channel_mix.md", "RWKV channel mix (feed-forward)",
     "x_k, x_r = lerp(x_{t−1}, x_t, mu_k/r)\n"
     "out = sigmoid(W_r·x_r) ⊙ (W_v · relu(W_k·x_k)²)",
     "- transformers: `src/transformers/models/rwkv/modeling_rwkv.py` (`RwkvFeedForward`)\n"
     "- vLLM / SGLang: via fla kernels and plugins (no native layer)\n"
     "- Paper: RWKV, arXiv:2305.13048\n",
     "- TP: W_k column-parallel, W_v row-parallel (all-reduce B·T·H), W_r replicated or "
     "column-parallel with an all-gather.\n- PP: layers per stage.\n- CP / SP: token shift "
     "needs the previous token of the neighbouring shard (one H-vector exchange).\n"
     "- EP: not applicable.",
     generic_formula, generic_flops, generic_memory},
    {"GatedAttentionLayer", "gated_attention.md",
     "Gated softmax attention: a sigmoid output gate per head channel (Qwen3-Next)",
     "[q_h ; g_h] = W_q · x, per head h        (q_proj has 2·n·d outputs: each head's query d "
     "and gate d, interleaved by head)\n"
     "q = RoPE(RMSNorm_d(q)) ; k = RoPE(RMSNorm_d(W_k · x)) ; v = W_v · x    (n_kv heads, "
     "grouped like GQA)\n"
     "a = softmax(q·kᵀ / sqrt(d) + causal mask) · v\n"
     "o = W_o · (a ⊙ sigmoid(g))                (elementwise gate, n·d wide)\n"
     "The q and k RMSNorms (over d; Qwen3-Next scales by 1 + w) are NormLayer entries of their "
     "own. Qwen3-Next rotates only part of each head (partial_rotary_factor 0.25).",
     "- transformers: `src/transformers/models/qwen3_next/modeling_qwen3_next.py` "
     "(`Qwen3NextAttention`: `q_proj` to num_heads·head_dim·2, `torch.chunk` per head into "
     "query and gate, `attn_output * torch.sigmoid(gate)` before `o_proj`)\n"
     "- vLLM: `vllm/model_executor/models/qwen3_next.py` (`Qwen3NextAttention`)\n"
     "- SGLang: `python/sglang/srt/models/qwen3_next.py`\n"
     "- Paper: Gated Attention for Large Language Models: Non-linearity, Sparsity, and "
     "Attention-Sink-Free, arXiv:2505.06708\n",
     "- TP: split heads: q_proj column-parallel by head, keeping each head's query and gate "
     "rows together (they are interleaved per head); k/v by KV head (replicated when n_kv < "
     "TP); the gate acts on the rank's own heads; o_proj row-parallel with one all-reduce of "
     "B·T·H.\n"
     "- PP: whole layers per stage; B·T·H activations between stages.\n"
     "- CP: as softmax attention (ring or all-gather of K/V); the gate is per token and local.\n"
     "- SP: norms and residual on T-shards around the TP collectives.\n"
     "- EP: not applicable.",
     gated_attention_formula, gated_attention_flops, attention_memory},
    {"AttentionSinksLayer", "attention_sinks.md",
     "Learned attention-sink logits, one per head (gpt-oss `self_attn.sinks`)",
     "s_h: one learned logit per query head (n per layer), with no key and no value\n"
     "z_j = q_h·k_j / sqrt(d) over the visible keys (sliding window or full)\n"
     "p = softmax([z_1 … z_L, s_h]) ; o_h = Σ_j p_j v_j          (the sink column is dropped)\n"
     "  ⇔ o_h = Σ_j exp(z_j) v_j / (Σ_j exp(z_j) + exp(s_h))\n"
     "The sink only enlarges each head's softmax denominator, so a head can give weight to "
     "nothing. The q, k, v, o projections around it are the layer's SlidingWindowAttentionLayer "
     "entry (constructed with num_sinks, which adds no parameters for them).",
     "- transformers: `src/transformers/models/gpt_oss/modeling_gpt_oss.py` "
     "(`GptOssAttention.sinks` of num_attention_heads; `eager_attention_forward` concatenates "
     "them to the logits and drops them after the softmax)\n"
     "- vLLM: `vllm/model_executor/models/gpt_oss.py` (`OAIAttention.sinks`, num_heads / tp per "
     "rank, passed as `Attention(..., sinks=...)`)\n"
     "- SGLang: `python/sglang/srt/models/gpt_oss.py`\n"
     "- Paper: Efficient Streaming Language Models with Attention Sinks, arXiv:2309.17453 (the "
     "sink idea; gpt-oss learns one logit per head instead of keeping sink tokens)\n",
     "- TP: split with the heads: each rank holds the n/TP sink logits of its query heads (vLLM "
     "allocates num_heads / tp); no collective of its own.\n"
     "- PP: with its layer.\n"
     "- CP: partial softmaxes merged by log-sum-exp (ring attention) must add exp(s_h) once per "
     "head and query, not once per rank.\n"
     "- SP: unaffected (per-head scalars).\n"
     "- EP: not applicable.",
     sinks_formula, sinks_flops, sinks_memory, sharded_share, false},
    {"RelativePositionBiasLayer", "relative_position_bias.md",
     "T5 relative position bias (`relative_attention_bias`)",
     "table: Embedding[num_buckets, n]   (only in layer 0 of each stack; every layer of the "
     "stack uses it)\n"
     "bucket(j − i): exact for small distances, log-spaced up to max_distance (128 in T5), "
     "one bucket beyond; bidirectional (encoder) halves the buckets per direction, causal "
     "(decoder) counts only the past\n"
     "B[h, i, j] = table[bucket(j − i), h]      computed once per forward, [1, n, L_q, L_k]\n"
     "scores_h = q_h·kᵀ + B[h]                  (T5 does not divide by sqrt(d))\n"
     "Cross-attention has no position bias.",
     "- transformers: `src/transformers/models/t5/modeling_t5.py` (`T5Attention.compute_bias`, "
     "`_relative_position_bucket`; `has_relative_attention_bias` only for the first block of "
     "each `T5Stack`, whose `position_bias` the later blocks reuse)\n"
     "- vLLM: `vllm/model_executor/models/t5.py` was added for the V0 engine (bias computed on "
     "the first self-attention call of a stack and reused, through an xFormers attention "
     "bias); check that the release in use still ships it\n"
     "- SGLang: no T5 model in `python/sglang/srt/models/`\n"
     "- Paper: T5, arXiv:1910.10683 §2.1 (relative position embeddings)\n",
     "- TP: split with the heads: each rank needs only its heads' n/TP columns of the table; no "
     "collective of its own.\n"
     "- PP: the table sits in the stack's first layer but every layer uses the bias: a stage "
     "without that layer needs a copy of the table (num_buckets·n values) or the [n, L_q, L_k] "
     "bias sent along.\n"
     "- CP: each rank builds the bias block for its query rows against the keys it attends to, "
     "from global (not shard-local) positions.\n"
     "- SP: unaffected.\n"
     "- EP: not applicable.",
     relative_bias_formula, relative_bias_flops, relative_bias_memory, sharded_share, false},
    {"AttentionBiasLayer", "attention_bias.md",
     "Attention projection biases the attention entry's class does not count",
     "y = W·x + b after each projection: q = W_q·x + b_q ; k = W_k·x + b_k ; v = W_v·x + b_v "
     "(; o = W_o·a + b_o)\n"
     "an elementwise add per output element; the projections themselves are the layer's "
     "attention entry, whose class has no bias term.\n"
     "Qwen2 / Qwen2.5: q, k and v have biases, o has none (q_dim + 2·kv_dim per layer).",
     "- transformers: `src/transformers/models/qwen2/modeling_qwen2.py` (`Qwen2Attention`: "
     "`bias=True` on q_proj, k_proj, v_proj; `bias=False` on o_proj)\n"
     "- vLLM: `vllm/model_executor/models/qwen2.py` (`QKVParallelLinear(..., bias=True)`), "
     "`vllm/model_executor/layers/linear.py`\n"
     "- SGLang: `python/sglang/srt/models/qwen2.py`\n",
     "- TP: q, k, v are column-parallel, so their biases split with the heads (vLLM's "
     "`QKVParallelLinear(bias=True)` shards the bias like the weight); an o bias belongs to the "
     "row-parallel o_proj and is added exactly once: after the all-reduce (Megatron), or by "
     "rank 0 only before it (vLLM's `RowParallelLinear`). No collective of its own.\n"
     "- PP: with its layer.\n"
     "- CP / SP: elementwise per token, no cross-token communication.\n"
     "- EP: not applicable.",
     attention_bias_formula, bias_flops, attention_bias_memory, attention_bias_share, false},
    {"CrossAttentionLayer", "cross_attention.md",
     "Cross-attention (encoder-decoder, T5 EncDecAttention)",
     "q = W_q · x_dec ; k = W_k · h_enc ; v = W_v · h_enc\n"
     "o = W_o · softmax(q·kᵀ (+ no positional bias in T5 cross-attention)) · v\n"
     "K/V depend only on the encoder output: computed once per request, reused by every "
     "decoding step.",
     "- transformers: `src/transformers/models/t5/modeling_t5.py` (`T5Attention` with "
     "`is_cross_attention`), `models/bart/modeling_bart.py`\n"
     "- vLLM: `vllm/attention/layer.py` (`AttentionType.ENCODER_DECODER`), "
     "`vllm/model_executor/models/bart.py`\n"
     "- SGLang: `python/sglang/srt/layers/radix_attention.py` (encoder-decoder models such as "
     "mllama)\n",
     "- TP: split heads (q/k/v column, o row); one all-reduce of B·T·H.\n- PP: the encoder and "
     "decoder stacks on different stages; the encoder output h_enc (B·T_enc·H) is sent to every "
     "decoder stage.\n- CP: split the decoder sequence; the cross K/V are replicated.\n"
     "- SP: norms on T-shards.\n- EP: not applicable.",
     attention_formula, attention_flops, cross_memory},
    {"OutputHeadLayer", "lm_head.md", "Output projection (lm_head) and task heads",
     "logits = W_vocab · RMSNorm(h_last)    (V × H; tied to the embedding when the model ties "
     "them)\n"
     "BERT-style heads: transform = LayerNorm(GELU(W_t·h + b_t)); logits = E·transform + b; "
     "pooler = tanh(W_p·h_[CLS] + b_p); NSP = W_nsp·pooler.",
     "- transformers: `LlamaForCausalLM.lm_head` in "
     "`src/transformers/models/llama/modeling_llama.py`; `BertOnlyMLMHead` in "
     "`models/bert/modeling_bert.py`\n"
     "- vLLM: `vllm/model_executor/layers/vocab_parallel_embedding.py` (`ParallelLMHead`), "
     "`logits_processor.py`\n"
     "- SGLang: `python/sglang/srt/layers/vocab_parallel_embedding.py`, "
     "`layers/logits_processor.py`\n",
     "- TP: vocab-parallel: each rank holds V/tp rows and computes its slice of the logits; an "
     "all-gather of B·V logits (or a distributed argmax / top-k) for sampling.\n- PP: the last "
     "stage (with the final norm).\n- CP / SP: only the last token's hidden state is projected "
     "at decode; gather it from its shard.\n- EP: not applicable.",
     head_formula, head_flops, head_memory},
    {"MultiTokenPredictionLayer", "mtp.md", "Multi-token-prediction (MTP) head",
     "h' = W_fc · [RMSNorm(embed(t_{i+1})); RMSNorm(h_i)]\n"
     "h'' = DecoderLayer(h')   (attention + MoE / MLP, like a main layer)\n"
     "logits_{i+2} = lm_head(RMSNorm(h''))   (shared lm_head and embedding)\n"
     "Used for training and speculative decoding (draft tokens); skipped by plain inference.",
     "- transformers: MTP weights are loaded but unused (`_keys_to_ignore_on_load_unexpected` "
     "in `models/deepseek_v3/modeling_deepseek_v3.py`, `models/qwen3_next`)\n"
     "- vLLM: `vllm/model_executor/models/deepseek_mtp.py`, `qwen3_next_mtp.py`, "
     "`vllm/spec_decode/`\n"
     "- SGLang: `python/sglang/srt/models/deepseek_nextn.py`, `qwen3_next_mtp.py` (EAGLE-style "
     "speculative decoding)\n- Paper: DeepSeek-V3, arXiv:2412.19437 §2.2\n",
     "- TP / EP: as the main decoder layer it contains (heads split, experts over EP ranks with "
     "all-to-all dispatch and combine).\n- PP: placed on the last stage beside lm_head.\n- CP / "
     "SP: as the main layers.",
     generic_formula, generic_flops, generic_memory},
    {"VisionTowerLayer", "vision_tower.md", "Vision tower and multimodal projector",
     "patches = Conv2d(image, patch) + position embeddings\n"
     "N × encoder layer: h = h + Attn(LN(h)); h = h + MLP(LN(h))   (bidirectional)\n"
     "image tokens = Projector(LN(h))   → spliced into the text sequence",
     "- transformers: `src/transformers/models/siglip/modeling_siglip.py`, "
     "`models/gemma3/modeling_gemma3.py` (`Gemma3MultiModalProjector`), `models/clip/`\n"
     "- vLLM: `vllm/model_executor/models/siglip.py`, `gemma3_mm.py`, `vllm/multimodal/`\n"
     "- SGLang: `python/sglang/srt/models/gemma3_mm.py`, `srt/managers/multimodal_processor.py`\n",
     "- TP: heads and MLP split like a text layer (all-reduce of B·P·H_v per layer), or the "
     "tower replicated (it is small) with images sharded over DP ranks.\n- PP: usually the "
     "first stage.\n- CP / SP: patches sharded across ranks.\n- EP: not applicable.",
     generic_formula, generic_flops, generic_memory},
    {"MLPBiasLayer", "mlp_bias.md", "MLP projection biases the MLP entry's class does not count",
     "h = act(W_up·x + b_up) ; y = W_down·h + b_down        (gated: act(W_g·x + b_g) ⊙ "
     "(W_up·x + b_up))\n"
     "an elementwise add per output element; the projections are the layer's MLPLayer / "
     "GatedMLPLayer entry, whose class has no bias term. Also a shared expert's biases.\n"
     "GPT-2 c_fc / c_proj, BERT intermediate / output, BLOOM dense_h_to_4h / dense_4h_to_h: "
     "I + H per layer.",
     "- transformers: `src/transformers/models/gpt2/modeling_gpt2.py` (`GPT2MLP`: `c_fc`, "
     "`c_proj` are `Conv1D` with biases), `models/bert/modeling_bert.py` (`BertIntermediate`, "
     "`BertOutput`), `models/bloom/modeling_bloom.py` (`BloomMLP`)\n"
     "- vLLM: `vllm/model_executor/models/gpt2.py`, `bert.py`, `bloom.py` "
     "(`ColumnParallelLinear` / `RowParallelLinear` with `bias=True`)\n"
     "- SGLang: `python/sglang/srt/models/gpt2.py`, `bert.py`\n",
     "- TP: up (and gate) biases split with the column-parallel intermediate channels; the down "
     "bias belongs to the row-parallel down projection and is added once, after the all-reduce "
     "(Megatron) or by rank 0 only before it (vLLM's `RowParallelLinear`). No collective of its "
     "own.\n"
     "- EP: a shared expert's biases stay with the shared expert, beside the routed experts.\n"
     "- PP: with its layer.\n"
     "- CP / SP: elementwise per token.",
     mlp_bias_formula, bias_flops, no_state_memory, mlp_bias_share, false},
    {"ExpertBiasLayer", "expert_bias.md",
     "Routed experts' biases the MoE entry (modelled without has_bias) does not count",
     "for each chosen expert e: h = act(W_gate,e·x + b_gate,e) ⊙ (W_up,e·x + b_up,e) ; "
     "y_e = W_down,e·h + b_down,e\n"
     "an elementwise add per output element of each expert a token runs; the expert matrices "
     "and the router are the layer's MoELayer entry.\n"
     "gpt-oss: `gate_up_proj_bias` [E, 2·I] (gate and up interleaved) and `down_proj_bias` "
     "[E, H].",
     "- transformers: `src/transformers/models/gpt_oss/modeling_gpt_oss.py` (`GptOssExperts`: "
     "`gate_up_proj_bias`, `down_proj_bias`)\n"
     "- vLLM: `vllm/model_executor/models/gpt_oss.py` (loaded into `FusedMoE`'s `w13_bias`, "
     "`w2_bias`)\n"
     "- SGLang: `python/sglang/srt/models/gpt_oss.py`\n",
     "- EP: each expert's biases live with that expert on its EP rank; nothing extra crosses "
     "the all-to-all.\n"
     "- TP (experts split by intermediate channels): gate/up biases split with the channels; "
     "the down bias is added once per expert output (vLLM's gpt-oss loader puts `w2_bias` on "
     "TP rank 0 only).\n"
     "- PP: with its MoE layer.\n"
     "- CP / SP: per token, no cross-token communication.",
     expert_bias_formula, expert_bias_flops, no_state_memory, expert_bias_share, false},
    {"MoERouterBiasLayer", "moe_router_bias.md",
     "MoE router bias: DeepSeek-V3's `e_score_correction_bias`, a router `gate.bias`",
     "s = sigmoid(W_g · x)   (scoring_func \"sigmoid\"; softmax in other routers)    W_g: the "
     "MoELayer entry\n"
     "DeepSeek-V3 (topk_method \"noaux_tc\"): choice = s + e_score_correction_bias   (E values)\n"
     "  group-limited top-k: the E experts form n_group groups; keep the topk_group groups with "
     "the largest sum of their two best choice scores, then the top_k experts inside them\n"
     "  weights = s[chosen] (unbiased) / Σ s[chosen] (norm_topk_prob) · routed_scaling_factor\n"
     "  The bias steers only which experts are chosen (auxiliary-loss-free load balancing, "
     "adjusted outside gradient descent in training); it never scales an expert's output.\n"
     "A router Linear with a bias (gpt-oss `router.bias`): logits = W_g · x + b ; top-k of the "
     "logits, softmax over the k chosen: the bias moves both the choice and the weights.",
     "- transformers: `src/transformers/models/deepseek_v3/modeling_deepseek_v3.py` "
     "(`DeepseekV3TopkRouter` holds `e_score_correction_bias`; the group-limited choice is "
     "`DeepseekV3MoE.route_tokens_to_experts`, `DeepseekV3TopkRouter.get_topk_indices` in "
     "earlier releases); `models/gpt_oss/modeling_gpt_oss.py` (`GptOssTopKRouter.bias`)\n"
     "- vLLM: `grouped_topk` with `e_score_correction_bias` "
     "(`vllm/model_executor/layers/fused_moe/fused_moe.py`; "
     "`fused_moe/router/grouped_topk_router.py` in recent releases)\n"
     "- SGLang: `python/sglang/srt/layers/moe/topk.py` (`biased_grouped_topk_impl`, "
     "`TopK(correction_bias=...)`)\n"
     "- Paper: DeepSeek-V3, arXiv:2412.19437 §2.1.2 (auxiliary-loss-free load balancing)\n",
     "- TP / EP: replicated on every rank with the router weight: each rank chooses experts for "
     "its own tokens among all E, and the choice drives the all-to-all dispatch (top_k·H per "
     "token) and combine. Group-limited top-k with one group per node bounds the nodes a token "
     "is sent to (DeepSeek-V3: at most 4).\n"
     "- PP: with its MoE layer.\n"
     "- CP / SP: per token, no cross-token communication.",
     router_bias_formula, router_bias_flops, router_bias_memory, replicated_share, false},
    {"SharedExpertGateLayer", "shared_expert_gate.md",
     "Sigmoid gate on the shared expert's output (Qwen1.5/2-MoE, Qwen3-Next)",
     "out = Σ_k w_k · E_k(x) + sigmoid(W_g · x) · shared_expert(x)     (W_g: Linear H → 1, no "
     "bias)\n"
     "one scalar per token scales the shared expert; the routed experts, router and shared "
     "expert are the layer's MoELayer (or MLP) entries.",
     "- transformers: `src/transformers/models/qwen2_moe/modeling_qwen2_moe.py` "
     "(`Qwen2MoeSparseMoeBlock.shared_expert_gate`), `models/qwen3_next/modeling_qwen3_next.py` "
     "(`Qwen3NextSparseMoeBlock`)\n"
     "- vLLM: `vllm/model_executor/models/qwen2_moe.py` (`Qwen2MoeMLP(expert_gate=...)`), "
     "`qwen3_next.py`\n"
     "- SGLang: `python/sglang/srt/models/qwen2_moe.py`, `qwen3_next.py`\n",
     "- TP: W_g (1 × H) is replicated; the gate is a per-token scalar, so it can scale the "
     "shared expert's partial (pre-all-reduce) output: vLLM applies it before the one "
     "all-reduce that also sums the routed experts (shared expert built with "
     "`reduce_results=False`).\n"
     "- EP: the shared expert and its gate run on every rank, beside the routed experts' "
     "all-to-all.\n"
     "- PP: with its MoE layer.\n"
     "- CP / SP: per token.",
     shared_gate_formula, shared_gate_flops, no_state_memory, replicated_share},
    {"CustomAttentionLayer", "custom_attention.md",
     "Softmax attention whose tensors no catalog class sizes exactly",
     "q = W_q·x ; k = W_k·x ; v = W_v·x ; o = W_o · softmax(q·kᵀ / sqrt(d) + mask) · v\n"
     "A module of a kind the estimator has, but its tensors fit none of the catalog's attention "
     "classes exactly: odd shapes (widths other than n·d or n_kv·d, heads the shapes do not "
     "resolve), fused or packed projections whose split the shapes do not resolve, or extra "
     "tensors inside the module. The tensors table of each model below shows what was found.\n"
     "Catalog formulas, for comparison: AttentionLayer 4·H²; GroupedQueryAttentionLayer "
     "H·n·d + 2·H·n_kv·d + H²; SlidingWindowAttentionLayer 2·H·n·d + 2·H·n_kv·d (+ n·d + "
     "2·n_kv·d + H with has_bias).",
     "- transformers: the model's `modeling_<type>.py` attention class; "
     "`src/transformers/models/llama/modeling_llama.py` (`LlamaAttention`) for the usual form\n"
     "- vLLM: `vllm/model_executor/layers/linear.py` (`QKVParallelLinear`, "
     "`RowParallelLinear`), `vllm/attention/layer.py` (`Attention`)\n"
     "- SGLang: `python/sglang/srt/layers/linear.py`, `python/sglang/srt/layers/"
     "radix_attention.py`\n",
     "- TP: split heads (q/k/v column-parallel, o row-parallel; a fused or packed projection "
     "must be split by head before sharding); one all-reduce of B·T·H.\n"
     "- PP: whole layers per stage.\n"
     "- CP: ring or all-gather of K/V across sequence shards.\n"
     "- SP: norms and residual on T-shards around the TP collectives.\n"
     "- EP: not applicable.",
     custom_attention_formula, attention_flops, attention_memory},
    {"CustomMLPLayer", "custom_mlp.md",
     "Feed-forward block whose tensors no catalog class sizes exactly",
     "h = act(W_up·x)   (gated: act(W_gate·x) ⊙ W_up·x) ; y = W_down·h\n"
     "A module of a kind the estimator has, but its tensors fit neither MLPLayer "
     "(num_projections·H·I) nor GatedMLPLayer (3·H·I): odd shapes (projections that disagree "
     "on I, widths other than H), fused gate/up projections the shapes do not resolve, or a "
     "shared expert of a width the MoE entry cannot hold. The tensors table of each model "
     "below shows what was found.",
     "- transformers: the model's `modeling_<type>.py` MLP class; "
     "`src/transformers/models/llama/modeling_llama.py` (`LlamaMLP`) for the gated form\n"
     "- vLLM: `vllm/model_executor/layers/linear.py` (`MergedColumnParallelLinear`, "
     "`RowParallelLinear`), `vllm/model_executor/layers/activation.py` (`SiluAndMul`)\n"
     "- SGLang: `python/sglang/srt/layers/linear.py`, `python/sglang/srt/layers/activation.py`\n",
     "- TP: up/gate column-parallel (split I), down row-parallel; one all-reduce of B·T·H.\n"
     "- EP: not applicable, except for a shared expert, which runs on every rank beside the "
     "routed experts.\n"
     "- PP: with its layer.\n"
     "- CP / SP: per token, no cross-token communication.",
     custom_mlp_formula, generic_flops, no_state_memory},
    {"CustomMoELayer", "custom_moe.md",
     "Mixture-of-experts block whose tensors no catalog class sizes exactly",
     "s = score(W_g·x) ; top_k experts per token ; y = Σ_k w_k · E_k(x) (+ shared experts)\n"
     "A module of a kind the estimator has, but its tensors fit MoELayer's formula "
     "H·E (+ E) + (E + n_shared)·(p·H·I (+ biases)) neither with nor without has_bias: "
     "experts of different widths, a shared expert that is neither a multiple of the routed "
     "ones nor an MLP the catalog sizes, packed or fused expert tensors the shapes do not "
     "resolve, or extra tensors in the block. The tensors table of each model below shows what "
     "was found.",
     "- transformers: `src/transformers/models/mixtral/modeling_mixtral.py` "
     "(`MixtralSparseMoeBlock`), `models/qwen2_moe/modeling_qwen2_moe.py`, "
     "`models/deepseek_v3/modeling_deepseek_v3.py`, and the model's own `modeling_<type>.py`\n"
     "- vLLM: `vllm/model_executor/layers/fused_moe/` (`FusedMoE`)\n"
     "- SGLang: `python/sglang/srt/layers/moe/` (`topk.py`, `fused_moe_triton/`)\n",
     "- EP: experts over ranks; all-to-all dispatch (top_k·H per token) and combine.\n"
     "- TP: experts split by intermediate channels with one all-reduce of B·T·H; the router "
     "replicated.\n"
     "- PP: with its layer.\n"
     "- CP / SP: per token, no cross-token communication.",
     custom_moe_formula, custom_moe_flops, custom_moe_memory},
    {"CustomNormLayer", "custom_norm.md",
     "Normalisation whose tensors no catalog class sizes exactly",
     "RMSNorm: y = x / sqrt(mean(x²) + eps) ⊙ w ; LayerNorm: y = (x − mean(x)) / sqrt(var(x) + "
     "eps) ⊙ w + b\n"
     "A module of a kind the estimator has, but its tensors fit NormLayer ((has_bias ? 2 : "
     "1)·H) in neither form: a width other than the one read for it, extra tensors (a per-head "
     "or grouped norm), or weights the shapes do not resolve. The tensors table of each model "
     "below shows what was found.",
     "- transformers: `src/transformers/models/llama/modeling_llama.py` (`LlamaRMSNorm`) and the "
     "model's own `modeling_<type>.py`; PyTorch `torch.nn.LayerNorm`, `torch.nn.RMSNorm`\n"
     "- vLLM: `vllm/model_executor/layers/layernorm.py` (`RMSNorm`)\n"
     "- SGLang: `python/sglang/srt/layers/layernorm.py`\n",
     "- TP: weights replicated on every rank.\n"
     "- SP: activations sharded on T between the reduce-scatter and the all-gather of the TP "
     "layers around it; weights replicated.\n"
     "- PP: with its layer.\n"
     "- CP: per token.\n"
     "- EP: not applicable.",
     custom_norm_formula, norm_flops, no_state_memory, replicated_share, false},
    {"CustomEmbeddingLayer", "custom_embedding.md",
     "Token embedding whose tensors no catalog class sizes exactly",
     "h_0 = E[token_id]      (one H-wide row per token)\n"
     "A module of a kind the estimator has, but its tensors fit EmbeddingLayer (V·H) in "
     "neither reading: extra tensors (position or token-type tables, an embedding norm or "
     "projection), a row width other than H, or packed weights the shapes do not resolve. The "
     "tensors table of each model below shows what was found.",
     "- transformers: `src/transformers/models/bert/modeling_bert.py` (`BertEmbeddings`: word, "
     "position and token-type tables) and the model's own `modeling_<type>.py`; PyTorch "
     "`torch.nn.Embedding`\n"
     "- vLLM: `vllm/model_executor/layers/vocab_parallel_embedding.py` "
     "(`VocabParallelEmbedding`)\n"
     "- SGLang: `python/sglang/srt/layers/vocab_parallel_embedding.py`\n",
     "- TP: vocab-parallel: V/TP rows per rank, ids outside the rank's range give zeros; one "
     "all-reduce of B·T·H.\n"
     "- PP: the first stage (and the last too when lm_head is tied to it).\n"
     "- CP / SP: lookups per token, on each rank's own tokens.\n"
     "- EP: not applicable.",
     custom_embedding_formula, embedding_flops, no_state_memory, sharded_share, false},
    {"Buffer", "buffer.md", "Stored non-parameter buffers (attention masks, rotary tables)",
     "Not a layer: a constant stored in the checkpoint (GPT-2 `attn.bias` causal mask, old "
     "`rotary_emb.inv_freq`). The Hub's parameter count includes it, so the config keeps it "
     "for the accounting invariant; an estimator should give it zero FLOPs.",
     "- transformers: `src/transformers/models/gpt2/modeling_gpt2.py` (`register_buffer(\"bias\", "
     "...)`)\n- vLLM / SGLang: ignore these tensors when loading\n",
     "- Replicated on every rank (or not materialised at all); no collectives.", generic_formula,
     generic_flops, buffer_memory},
    {"UnknownLayer", "unknown.md", "Tensors no mapping rule knows",
     "Unknown: the tensors below matched no rule of the layer mapper; add a rule to it "
     "(`src/analysis/layer_place.cpp` places tensors in units, `layer_read.cpp` reads them) "
     "and a template here.",
     "- transformers: the model's `modeling_<type>.py`\n",
     "- Unknown until the layer is "
     "identified.",
     generic_formula, generic_flops, generic_memory},
};

// A generic template for catalog classes a replacement catalog left out.
GapTemplate generic_template(std::string_view layer_class, std::string_view file) {
  GapTemplate t{layer_class,
                file,
                layer_class,
                "The estimator's default catalog models this class; the catalog in use does "
                "not. See the estimator's implementation of the same class name.",
                "- transformers: the model's `modeling_<type>.py`\n"
                "- vLLM: `vllm/model_executor/layers/`\n"
                "- SGLang: `python/sglang/srt/layers/`\n",
                "- TP: split heads / intermediate channels (column then row parallel); one "
                "all-reduce of B·T·H.\n- PP: layers per stage.\n- CP / SP: as for attention "
                "and MLP layers.\n- EP: for MoE layers, experts over ranks with all-to-all."};
  const std::string_view c = layer_class;
  if (c.find("Attention") != std::string_view::npos) {
    t.formula = attention_formula;
    t.flops = attention_flops;
    t.memory = attention_memory;
  }
  return t;
}

std::string snake_case(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0 && !(s[i - 1] >= 'A' && s[i - 1] <= 'Z')) {
        out += '_';
      }
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

const GapTemplate* find_template(std::string_view layer_class) {
  for (const GapTemplate& t : k_templates) {
    if (t.layer_class == layer_class) {
      return &t;
    }
  }
  return nullptr;
}

uint64_t dtype_bytes_of(const Model& model) {
  const std::string d = model.config ? model.config->torch_dtype : std::string();
  return d == "float32" ? 4 : 2;
}

// "0–2, 4, 6–9"
std::string ranges(const std::vector<uint32_t>& sorted) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) {
      ++j;
    }
    parts.push_back(i == j ? fmt::format("{}", sorted[i])
                           : fmt::format("{}–{}", sorted[i], sorted[j]));
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Tensor names with expert indices folded: "mlp.experts.17.up_proj.weight" ->
// "mlp.experts.{e}.up_proj.weight", so a row stands for every expert.
std::string fold_experts(std::string_view name) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t e = name.find("experts.", pos);
    if (e == std::string::npos) {
      out += name.substr(pos);
      return out;
    }
    size_t d = e + 8;
    size_t end = d;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9') {
      ++end;
    }
    out += name.substr(pos, d - pos);
    if (end > d && end < name.size() && name[end] == '.') {
      out += "{e}";
    } else {
      out += name.substr(d, end - d);
    }
    pos = end;
  }
}

struct Row {
  std::string name, shape, dtype;
  uint64_t params = 0;
  size_t count = 0;
};

std::string tensors_table(const Model& model, const ParamCount& params, const LayerPart& part,
                          uint64_t& matmul) {
  std::vector<Row> rows;
  matmul = 0;
  for (size_t i : part.tensors) {
    const TensorInfo& t = model.tensors[i];
    const TensorClass& c = params.classes[i];
    std::string folded = fold_experts(t.name);
    const std::string shape = format_shape(t.shape);
    const std::string dtype(tensor_dtype_name(t));
    auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) {
      return r.name == folded && r.shape == shape && r.dtype == dtype;
    });
    if (it == rows.end()) {
      rows.push_back({folded, shape, dtype, 0, 0});
      it = rows.end() - 1;
    }
    it->params += c.params;
    ++it->count;
    if (c.role != TensorRole::quant_aux && c.role != TensorRole::buffer &&
        (t.shape.size() >= 2 || c.role == TensorRole::packed)) {
      const bool conv = t.name.find("conv1d") != std::string::npos;
      if (!conv) {
        matmul += c.params;
      }
    }
  }
  std::string out = "| tensor | shape | dtype | params |\n|---|---|---|---:|\n";
  size_t shown = 0;
  uint64_t rest_params = 0;
  size_t rest = 0;
  for (const Row& r : rows) {
    if (shown++ >= k_max_tensor_rows) {
      rest_params += r.params;
      rest += r.count;
      continue;
    }
    out += fmt::format("| `{}`{} | {} | {} | {} |\n", r.name,
                       r.count > 1 ? fmt::format(" ×{}", r.count) : std::string(), r.shape, r.dtype,
                       num(r.params));
  }
  if (rest > 0) {
    out += fmt::format("| … {} more tensors | | | {} |\n", rest, num(rest_params));
  }
  return out;
}

uint64_t tp_degree(const ordered_json& s) {
  const uint64_t heads = std::max({spec(s, "num_heads"), spec(s, "num_query_heads"),
                                   spec(s, "num_value_heads"), spec(s, "num_experts")});
  for (uint64_t tp : {8ULL, 4ULL, 2ULL}) {
    if (heads && heads % tp == 0) {
      return tp;
    }
  }
  const uint64_t wide = std::max(
      {spec(s, "d_inner"), spec(s, "vocab_size"), spec(s, "intermediate_size"), spec(s, "q_dim")});
  return wide && wide % 8 == 0 ? 8 : 1;
}

std::string entry_section(const Model& model, const ParamCount& params, const LayerMap& map,
                          const LayerEntry& e, const GapTemplate& t) {
  const LayerPart& rep = map.parts[e.parts.front()];
  std::vector<uint32_t> layers;
  for (size_t pi : e.parts) {
    if (map.parts[pi].layer) {
      layers.push_back(*map.parts[pi].layer);
    }
  }
  std::sort(layers.begin(), layers.end());
  uint64_t matmul = 0;
  const std::string table = tensors_table(model, params, rep, matmul);
  if (!t.products) {
    matmul = 0;  // 2-D bias or lookup tables (gpt-oss expert biases, T5's bucket table)
  }
  ordered_json specs = e.specs;
  const Numbers n{specs,  e.parameter_count,     e.count,
                  matmul, dtype_bytes_of(model), tp_degree(specs)};
  // Zero when the specs carry no hidden size (sinks, a router bias, a buffer).
  const uint64_t h = spec(specs, "hidden_size");
  const uint64_t total = e.parameter_count * e.count;
  const RankShare share = t.share(n);
  const bool even_split = share.params * n.tp == e.parameter_count;
  const std::string all_reduce = bytes_text(k_example_context * h * n.bytes);
  std::string out;
  out +=
      fmt::format("#### Entry `{}` ({} × {} params)\n\n", e.name, e.count, num(e.parameter_count));
  out += fmt::format("Specs: `{}`\n\n", specs.dump());
  out += "#### Tensors\n\n";
  out += fmt::format("Representative unit{}; {} unit{} repeat it{}.\n\n",
                     rep.layer ? fmt::format(": layer {}", *rep.layer) : std::string(": global"),
                     e.count, e.count == 1 ? "" : "s",
                     layers.empty() ? std::string() : fmt::format(" (layers {})", ranges(layers)));
  out += table + "\n";
  out += "#### Parameters\n\n";
  out += fmt::format("- Per unit: {}.\n", t.formula(n));
  out += fmt::format(
      "- All units: {} × {} = {} ({:.2f}% of the model's {}).\n\n", e.count, num(e.parameter_count),
      num(total),
      params.total ? 100.0 * static_cast<double>(total) / static_cast<double>(params.total) : 0.0,
      num(params.total));
  out += "#### FLOPs\n\n";
  out += fmt::format("- Per token: {}.\n", t.flops(n));
  if (t.products) {
    out += fmt::format(
        "- Prefill of {} tokens, all {} units: ≈ 2·{}·{}·{} = {} FLOPs in the "
        "matrix products.\n\n",
        num(k_example_context), e.count, num(matmul), num(k_example_context), e.count,
        num(2 * matmul * k_example_context * e.count));
  } else {
    out += fmt::format(
        "- Prefill of {} tokens, all {} units: no matrix products; the per-token work above "
        "for each token.\n\n",
        num(k_example_context), e.count);
  }
  out += "#### KV / state memory\n\n";
  out += fmt::format("- {}.\n- Weights: {} per unit at {} B per parameter.\n\n", t.memory(n),
                     bytes_text(e.parameter_count * n.bytes), n.bytes);
  out += "#### Parallel split\n\n";
  out += fmt::format("- TP = {}: {} params per rank per unit ({}); ", n.tp, num(share.params),
                     share.how);
  if (h != 0) {
    out += fmt::format(
        "activations all-reduced after the row-parallel output: B·T·H·bytes = 1·{}·{}·{} = {} "
        "per unit at T = {}, batch 1.\n",
        num(k_example_context), h, n.bytes, all_reduce, num(k_example_context));
    out += fmt::format(
        "- PP: the {} units spread with their layers; each stage boundary sends B·T·H·bytes = "
        "{}.\n\n",
        e.count, all_reduce);
  } else {
    out += "no activation volume of its own to show (its specs give no hidden size).\n";
    out += fmt::format(
        "- PP: the {} units spread with their layers; what crosses a stage boundary is the "
        "activations of the modules they sit in.\n\n",
        e.count);
  }
  out += "#### Test-suite specification\n\n";
  out += fmt::format("1. Construct with `{}`; parameter count == {}.\n", specs.dump(),
                     num(e.parameter_count));
  if (h != 0) {
    out += fmt::format("2. Forward shape: input [B=2, T=16, H={}] → output [2, 16, {}].\n", h, h);
  } else {
    out +=
        "2. Forward shape: the specs give no hidden size; the module it sits in keeps its "
        "[B=2, T=16, H] → [2, 16, H] shapes.\n";
  }
  if (t.products) {
    out += fmt::format(
        "3. FLOPs per token == {} (matrix products) and the formula above at "
        "L = {}.\n",
        num(2 * matmul), num(k_example_context));
  } else {
    out += fmt::format("3. FLOPs per token: the figure above (no matrix products) at L = {}.\n",
                       num(k_example_context));
  }
  out += fmt::format("4. Memory: the KV / state figure above for batch 1 at L = {}.\n",
                     num(k_example_context));
  out += fmt::format(
      "5. Parallel split at TP = {}: per-rank params == {}{}{}.\n", n.tp, num(share.params),
      even_split ? fmt::format(", the sum over ranks == {}", num(e.parameter_count))
                 : fmt::format(" ({})", share.how),
      h != 0
          ? fmt::format(", all-reduce volume == {} at T = {}", all_reduce, num(k_example_context))
          : std::string());
  out += fmt::format("6. Model total: {} units × {} == {}.\n\n", e.count, num(e.parameter_count),
                     num(total));
  return out;
}

constexpr std::string_view k_begin = "<!-- mbuild:model ";
constexpr std::string_view k_end = "<!-- mbuild:end ";

}  // namespace

std::string gap_file_name(std::string_view layer_class) {
  if (const GapTemplate* t = find_template(layer_class)) {
    return std::string(t->file);
  }
  return snake_case(layer_class) + ".md";
}

const std::vector<std::string_view>& gap_report_headings() {
  static const std::vector<std::string_view> k_headings = {
      "## What it computes",    "## References",       "## Parallelism",
      "#### Tensors",           "#### Parameters",     "#### FLOPs",
      "#### KV / state memory", "#### Parallel split", "#### Test-suite specification"};
  return k_headings;
}

std::map<std::string, std::string> render_gap_sections(const Model& model, const ParamCount& params,
                                                       const LayerMap& map, const Catalog& catalog,
                                                       std::string_view model_id) {
  std::map<std::string, std::string> bodies;
  for (const LayerEntry& e : map.entries) {
    if (catalog.supports(e.layer_class)) {
      continue;
    }
    const std::string file = gap_file_name(e.layer_class);
    const GapTemplate* found = find_template(e.layer_class);
    const GapTemplate t = found ? *found : generic_template(e.layer_class, file);
    bodies[e.layer_class] += entry_section(model, params, map, e, t);
  }
  std::map<std::string, std::string> sections;
  for (auto& [layer_class, body] : bodies) {
    std::string revision = model.ref.commit.empty() ? model.ref.revision : model.ref.commit;
    std::string s = fmt::format("{}{} -->\n### {}\n\n", k_begin, model_id, model_id);
    s += fmt::format("Source: `{}`{}; model_type `{}`.\n\n", model_id,
                     revision.empty() ? std::string() : fmt::format(" at `{}`", revision),
                     model.config ? model.config->model_type : std::string());
    s += body;
    s += fmt::format("{}{} -->\n", k_end, model_id);
    sections[layer_class] = std::move(s);
  }
  return sections;
}

std::map<std::string, std::string> parse_gap_sections(std::string_view report) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t b = report.find(k_begin, pos);
    if (b == std::string_view::npos) {
      return out;
    }
    const size_t id_start = b + k_begin.size();
    const size_t id_end = report.find(" -->", id_start);
    if (id_end == std::string_view::npos) {
      return out;
    }
    const std::string id(report.substr(id_start, id_end - id_start));
    const std::string end_marker = fmt::format("{}{} -->\n", k_end, id);
    const size_t e = report.find(end_marker, id_end);
    if (e == std::string_view::npos) {
      return out;
    }
    out[id] = std::string(report.substr(b, e + end_marker.size() - b));
    pos = e + end_marker.size();
  }
}

std::string render_gap_report(std::string_view layer_class,
                              const std::map<std::string, std::string>& sections) {
  const std::string file = gap_file_name(layer_class);
  const GapTemplate* found = find_template(layer_class);
  const GapTemplate t = found ? *found : generic_template(layer_class, file);
  std::string out = fmt::format("# Gap report: {}\n\n", layer_class);
  out += fmt::format(
      "{}. The estimator's layer catalog has no `{}`; every model below emits entries of this "
      "class with `\"supported\": false` and `\"gap_report\"` pointing here.\n\n",
      t.title, layer_class);
  out +=
      "Generated by `mbuild emit-config`: the general part comes from the class template, "
      "each model section from that model's tensors. Running another model with this class "
      "adds its section and keeps the others.\n\n";
  std::vector<std::string> ids;
  ids.reserve(sections.size());
  for (const auto& [id, s] : sections) {
    ids.push_back(fmt::format("`{}`", id));
  }
  out += fmt::format("Models: {}.\n\n", fmt::join(ids, ", "));
  out += fmt::format("## What it computes\n\n```\n{}\n```\n\n", t.computes);
  out += fmt::format("## References\n\n{}{}\n", t.references, k_refs_tail);
  out += fmt::format("## Parallelism\n\n{}\n\n", t.parallelism);
  out += "## Models\n\n";
  for (const auto& [id, s] : sections) {
    out += s + "\n";
  }
  while (out.ends_with("\n\n")) {
    out.pop_back();
  }
  return out;
}

}  // namespace mbuild
