// Family detection and compliance against the corpus, and one test per violation kind.
#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "mbuild/analysis/analysis.hpp"
#include "mbuild/analysis/compliance.hpp"
#include "mbuild/render/render_family_contract.hpp"
#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

struct Loaded {
  Model model;
  ParamCount params;
};

// deepseek-ai/DeepSeek-V3 as a header-only test model, written here rather than kept in
// tests/data (its header is 12 MB): config.json's architecture fields as published (hidden 7168,
// 61 layers, 128 heads, q/kv LoRA ranks 1536/512, nope/rope/v head dims 128/64/128, 256 routed
// experts of 2048, top-8, one shared expert, layers 0-2 dense of 18432, vocab 129280, one MTP
// layer, FP8 blocks of 128x128), tensor names as transformers' DeepseekV3 code loads the
// checkpoint: FP8 projections with their weight_scale_inv, BF16 embeddings, norms and routers,
// F32 score-correction biases, and the MTP layer 61.
std::filesystem::path write_deepseek_v3(const test::TempDir& dir) {
  constexpr uint64_t h = 7168, layers = 61, vocab = 129280, heads = 128, ffn = 18432,
                     expert_ffn = 2048, experts = 256, q_rank = 1536, kv_rank = 512, nope = 128,
                     rope = 64, v_dim = 128, dense_layers = 3;
  std::vector<test::TensorSpec> t;
  auto fp8 = [&](const std::string& name, uint64_t out, uint64_t in) {
    t.push_back({name + ".weight", "F8_E4M3", {out, in}});
    t.push_back({name + ".weight_scale_inv", "F32", {(out + 127) / 128, (in + 127) / 128}});
  };
  auto layer = [&](uint64_t n, bool mtp) {
    const std::string p = fmt::format("model.layers.{}.", n);
    t.push_back({p + "input_layernorm.weight", "BF16", {h}});
    t.push_back({p + "post_attention_layernorm.weight", "BF16", {h}});
    const std::string a = p + "self_attn.";
    fp8(a + "q_a_proj", q_rank, h);
    t.push_back({a + "q_a_layernorm.weight", "BF16", {q_rank}});
    fp8(a + "q_b_proj", heads * (nope + rope), q_rank);
    fp8(a + "kv_a_proj_with_mqa", kv_rank + rope, h);
    t.push_back({a + "kv_a_layernorm.weight", "BF16", {kv_rank}});
    fp8(a + "kv_b_proj", heads * (nope + v_dim), kv_rank);
    fp8(a + "o_proj", h, heads * v_dim);
    const std::string m = p + "mlp.";
    if (n < dense_layers) {
      fp8(m + "gate_proj", ffn, h);
      fp8(m + "up_proj", ffn, h);
      fp8(m + "down_proj", h, ffn);
    } else {
      t.push_back({m + "gate.weight", "BF16", {experts, h}});
      t.push_back({m + "gate.e_score_correction_bias", "F32", {experts}});
      for (uint64_t e = 0; e < experts; ++e) {
        const std::string x = fmt::format("{}experts.{}.", m, e);
        fp8(x + "gate_proj", expert_ffn, h);
        fp8(x + "up_proj", expert_ffn, h);
        fp8(x + "down_proj", h, expert_ffn);
      }
      fp8(m + "shared_experts.gate_proj", expert_ffn, h);
      fp8(m + "shared_experts.up_proj", expert_ffn, h);
      fp8(m + "shared_experts.down_proj", h, expert_ffn);
    }
    if (mtp) {
      t.push_back({p + "embed_tokens.weight", "BF16", {vocab, h}});
      t.push_back({p + "enorm.weight", "BF16", {h}});
      t.push_back({p + "hnorm.weight", "BF16", {h}});
      t.push_back({p + "eh_proj.weight", "BF16", {h, 2 * h}});
      t.push_back({p + "shared_head.norm.weight", "BF16", {h}});
      t.push_back({p + "shared_head.head.weight", "BF16", {vocab, h}});
    }
  };
  t.push_back({"model.embed_tokens.weight", "BF16", {vocab, h}});
  for (uint64_t n = 0; n < layers; ++n) {
    layer(n, false);
  }
  layer(layers, true);
  t.push_back({"model.norm.weight", "BF16", {h}});
  t.push_back({"lm_head.weight", "BF16", {vocab, h}});
  // Written directly: test::header_json's ordered object is quadratic in 92k tensors.
  std::string header = "{";
  uint64_t offset = 0;
  for (const test::TensorSpec& spec : t) {
    uint64_t bytes = test::spec_bits(spec.dtype) / 8;
    for (uint64_t d : spec.shape) {
      bytes *= d;
    }
    header += fmt::format(R"({}"{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                          header.size() > 1 ? "," : "", spec.name, spec.dtype,
                          fmt::join(spec.shape, ","), offset, offset + bytes);
    offset += bytes;
  }
  header += "}";
  dir.write("DeepSeek-V3/model.safetensors", test::safetensors_bytes(header));
  dir.write("DeepSeek-V3/config.json", R"({"architectures":["DeepseekV3ForCausalLM"],
    "model_type":"deepseek_v3","first_k_dense_replace":3,"hidden_act":"silu","hidden_size":7168,
    "intermediate_size":18432,"kv_lora_rank":512,"max_position_embeddings":163840,
    "moe_intermediate_size":2048,"moe_layer_freq":1,"n_group":8,"n_routed_experts":256,
    "n_shared_experts":1,"norm_topk_prob":true,"num_attention_heads":128,"num_experts_per_tok":8,
    "num_hidden_layers":61,"num_key_value_heads":128,"num_nextn_predict_layers":1,
    "q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"rms_norm_eps":1e-06,
    "rope_theta":10000,"routed_scaling_factor":2.5,"scoring_func":"sigmoid",
    "tie_word_embeddings":false,"topk_group":4,"topk_method":"noaux_tc","torch_dtype":"bfloat16",
    "v_head_dim":128,"vocab_size":129280,"quantization_config":{"activation_scheme":"dynamic",
    "fmt":"e4m3","quant_method":"fp8","weight_block_size":[128,128]}})");
  return dir.path() / "DeepSeek-V3";
}

Loaded load_path(const std::filesystem::path& path) {
  LocalFolderSource source(path);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  Loaded l{std::move(*built), {}};
  l.params = count_params(l.model);
  return l;
}

// A folder of tests/data/corpus, or "synthetic/<name>" for a test model of tests/data/synthetic
// (header-only, built from the published config and the family's tensor names).
Loaded load(const std::string& folder) {
  std::filesystem::path path =
      folder.starts_with("synthetic/") ? test::data_dir() / folder : test::corpus_dir() / folder;
#ifdef MBUILD_GENERATED_DATA
  // Replicas the build writes (too large to keep): tests/data/synthetic/tools/make_*.py.
  if (folder.starts_with("generated/")) {
    path = std::filesystem::path(MBUILD_GENERATED_DATA) / folder.substr(10);
  }
#endif
  LocalFolderSource source(path);
  auto snapshot = source.snapshot();
  REQUIRE(snapshot);
  auto built = build_model(std::move(*snapshot));
  REQUIRE(built);
  Loaded l{std::move(*built), {}};
  l.params = count_params(l.model);
  return l;
}

FamilyContract contract_from(std::string text) {
  auto c = parse_family_contract("test.yaml", text);
  REQUIRE(c);
  return std::move(*c);
}

// Llama 3.2 1B (meta-llama/Llama-3.2-1B-Instruct config.json: hidden 2048, 16 layers, 32 heads,
// 8 KV heads, intermediate 8192, vocab 128256, tied embeddings).
constexpr std::string_view k_llama_1b = R"(family: llama
architectures: [LlamaForCausalLM]
size_variants:
  1b: {hidden_dim: 2048, num_layers: 16, num_heads: 32, num_kv_heads: 8, head_dim: 64,
       intermediate_dim: 8192, vocab_size: 128256, rope_theta: 500000.0, norm_eps: 1.0e-5}
constraints: {attention_type: gqa, has_bias: false, tied_embeddings: true, mlp_type: swiglu}
tensor_template:
  embedding: model.embed_tokens.weight
  lm_head: lm_head.weight
  final_norm: model.norm.weight
  per_layer:
    q_proj: model.layers.{n}.self_attn.q_proj.weight
    k_proj: model.layers.{n}.self_attn.k_proj.weight
    v_proj: model.layers.{n}.self_attn.v_proj.weight
    o_proj: model.layers.{n}.self_attn.o_proj.weight
    gate_proj: model.layers.{n}.mlp.gate_proj.weight
    up_proj: model.layers.{n}.mlp.up_proj.weight
    down_proj: model.layers.{n}.mlp.down_proj.weight
    input_layernorm: model.layers.{n}.input_layernorm.weight
    post_attention_layernorm: model.layers.{n}.post_attention_layernorm.weight
shape_template:
  q_proj: "[num_heads * head_dim, hidden_dim]"
  k_proj: "[num_kv_heads * head_dim, hidden_dim]"
)";

std::string edited(std::string_view from, std::string_view to) {
  std::string s(k_llama_1b);
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

FamilyReport check(const Loaded& l, const std::string& contract, std::string_view size = {}) {
  const std::vector<FamilyContract> registry{contract_from(contract)};
  auto r = check_family(l.model, l.params, registry, "auto", size);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE(
    "every corpus and test model with a contract: family and size detected, compliance clean") {
  // folder -> family, size variant (the variant names the contracts give the published models).
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"Qwen__Qwen2.5-7B-Instruct", "qwen2", "7b"},
      {"Qwen__Qwen3-30B-A3B", "qwen3_moe", "30b-a3b"},
      {"Qwen__Qwen3-8B", "qwen3", "8b"},
      {"Qwen__Qwen3-Next-80B-A3B-Thinking", "qwen3_next", "80b-a3b"},
      {"TheBloke__Mistral-7B-Instruct-v0.1-AWQ", "mistral", "7b"},
      {"bigscience__bloomz-560m", "bloom", "560m"},
      {"deepseek-ai__DeepSeek-V2-Lite", "deepseek_v2", "lite"},
      {"google-bert__bert-base-uncased", "bert", "base"},
      {"google__flan-t5-large", "t5", "large"},
      {"google__gemma-2-9b", "gemma2", "9b"},
      {"google__gemma-3-1b-it", "gemma3", "1b"},
      {"meta-llama__Llama-3.1-405B-Instruct", "llama", "405b"},
      {"meta-llama__Llama-3.1-8B", "llama", "8b"},
      {"meta-llama__Llama-3.2-1B-Instruct", "llama", "1b"},
      {"meta-llama__Llama-3.3-70B-Instruct", "llama", "70b"},
      {"microsoft__Phi-3.5-mini-instruct", "phi3", "mini"},
      {"mistralai__Mixtral-8x7B-v0.1", "mixtral", "8x7b"},
      {"mlx-community__gemma-3-4b-pt-4bit", "gemma3", "4b"},
      {"openai-community__gpt2", "gpt2", "124m"},
      {"state-spaces__mamba-130m-hf", "mamba", "130m"},
      {"unsloth__Meta-Llama-3.1-8B-Instruct-bnb-4bit", "llama", "8b"},
      {"synthetic/Qwen__Qwen1.5-MoE-A2.7B", "qwen2_moe", "a2.7b"},
      {"synthetic/allenai__OLMo-2-1124-7B", "olmo2", "7b"},
      {"synthetic/bigcode__starcoder2-3b", "starcoder2", "3b"},
      {"synthetic/openai__gpt-oss-20b", "gpt_oss", "20b"},
      {"synthetic/tiiuae__falcon-7b", "falcon", "7b"},
      {"synthetic/AntonV__mamba2-780m-hf", "mamba2", "780m"},
      {"synthetic/ai21labs__AI21-Jamba-1.5-Mini", "jamba", "mini"},
      {"synthetic/Qwen__Qwen3.5-27B", "qwen3_5", "27b"},
      {"written/deepseek-ai__DeepSeek-V3", "deepseek_v3", "671b"},
#ifdef MBUILD_GENERATED_DATA
      {"generated/deepseek-ai__DeepSeek-V3.2-Exp", "deepseek_v32", "685b"},
      {"generated/zai-org__GLM-5.2", "glm_moe_dsa", "753b"},
#endif
  };
  const test::TempDir written;
  // Every built-in contract is exercised by one of them.
  std::set<std::string> covered;
  for (const auto& c : cases) {
    covered.insert(std::get<1>(c));
  }
  for (const FamilyContract& f : builtin_family_contracts()) {
    INFO(f.family);
    CHECK(covered.contains(f.family));
  }
  for (const auto& [folder, family, size] : cases) {
    DYNAMIC_SECTION(folder) {
      const Loaded l =
          folder.starts_with("written/") ? load_path(write_deepseek_v3(written)) : load(folder);
      auto r = check_family(l.model, l.params, builtin_family_contracts());
      REQUIRE(r);
      CHECK(r->family == family);
      CHECK(r->size == size);
      CHECK(r->missing == std::vector<std::string>{});
      CHECK(r->unexpected == std::vector<std::string>{});
      CHECK(r->shape_mismatches.empty());
      for (const ConstraintCheck& c : r->constraints) {
        INFO(c.constraint << ": contract " << c.contract << ", model " << c.model);
        CHECK(c.pass);
      }
      REQUIRE(r->cross);
      CHECK(r->cross->count(FieldStatus::mismatch) == 0);
      CHECK(r->compliant);
      CHECK(r->expected_tensors == r->found_tensors);
      CHECK(r->shapes_checked > 0);
    }
  }
}

TEST_CASE("DeepSeek-V3: the main model is 671B, the MTP layer and FP8 scales left out") {
  const test::TempDir dir;
  const Loaded l = load_path(write_deepseek_v3(dir));
  // 684,489,845,504 stored parameters (the Hub's 685B), of which the MTP layer holds
  // 13,463,426,304: the main model is the published 671B.
  CHECK(l.params.total == 684'489'845'504ULL);
  CHECK(l.params.by_component[static_cast<size_t>(Component::mtp)] == 13'463'426'304ULL);
  auto r = check_family(l.model, l.params, builtin_family_contracts());
  REQUIRE(r);
  CHECK(r->compliant);
  // Per layer: 2 norms, 7 attention tensors; 3 dense MLP tensors in layers 0-2, and in the 58
  // MoE layers a router, its bias, 256 x 3 expert and 3 shared-expert tensors.
  CHECK(r->expected_tensors == 3 + 61 * 9 + 3 * 3 + 58 * (2 + 256 * 3 + 3));
  CHECK(r->found_tensors == r->expected_tensors);
}

TEST_CASE("the family is found from the tensors when config.json names no known type") {
  Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  l.model.config->model_type = "my_llama";
  l.model.config->root_model_type = "my_llama";
  l.model.config->architectures = {"MyLlamaForCausalLM"};
  auto r = check_family(l.model, l.params, builtin_family_contracts());
  REQUIRE(r);
  CHECK(r->family == "llama");
  CHECK(r->detected_by.starts_with("tensors"));
  CHECK(r->compliant);
}

TEST_CASE("a family mbuild knows without a contract is not matched to another by its tensors") {
  // Qwen3-VL's language model has Qwen3.5-style model.language_model.* names, but it is not
  // Qwen3.5: with no qwen3_vl contract, validate reports no family instead of failing checks
  // against the wrong one.
  const Loaded l = load("synthetic/Qwen__Qwen3-VL-8B-Instruct");
  auto r = check_family(l.model, l.params, builtin_family_contracts());
  REQUIRE(r);
  CHECK(r->family.empty());
  CHECK(r->detected_by.empty());
}

TEST_CASE("compliance: a clean contract passes") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r = check(l, std::string(k_llama_1b));
  CHECK(r.size == "1b");
  CHECK(r.compliant);
  CHECK(r.expected_tensors == 2 + 16 * 9);
}

TEST_CASE("compliance: a tensor the template names but the checkpoint lacks is missing") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r = check(l, edited("    input_layernorm:",
                                         "    q_norm: model.layers.{n}."
                                         "self_attn.q_norm.weight\n"
                                         "    input_layernorm:"));
  CHECK(!r.compliant);
  CHECK(r.missing_total == 16);
  CHECK(r.missing.front() == "model.layers.0.self_attn.q_norm.weight");
  CHECK(r.unexpected_total == 0);
}

TEST_CASE("compliance: a tensor the template does not name is unexpected") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r =
      check(l, edited("    v_proj: model.layers.{n}.self_attn.v_proj.weight\n", ""));
  CHECK(!r.compliant);
  CHECK(r.unexpected_total == 16);
  CHECK(r.missing_total == 0);
}

TEST_CASE("compliance: a shape the template contradicts is a mismatch with both shapes") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r = check(
      l, edited("[num_kv_heads * head_dim, hidden_dim]", "[num_heads * head_dim, hidden_dim]"));
  CHECK(!r.compliant);
  REQUIRE(r.shape_mismatches.size() == 16);
  CHECK(r.shape_mismatches.front().role == "k_proj");
  CHECK(r.shape_mismatches.front().expected == std::vector<uint64_t>{2048, 2048});
  CHECK(r.shape_mismatches.front().found == std::vector<uint64_t>{512, 2048});
}

TEST_CASE("compliance: a constraint the model breaks fails, naming both values") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  SECTION("biases") {
    const FamilyReport r = check(l, edited("has_bias: false", "has_bias: true"));
    CHECK(!r.compliant);
    REQUIRE(r.constraints.size() >= 2);
    CHECK(r.constraints[1].constraint == "has_bias");
    CHECK(!r.constraints[1].pass);
  }
  SECTION("attention type") {
    const FamilyReport r = check(l, edited("attention_type: gqa", "attention_type: mha"));
    CHECK(!r.compliant);
    CHECK(r.constraints.front().model == "gqa");
  }
  SECTION("tied embeddings") {
    // Untied, the template expects an lm_head the checkpoint does not store.
    const FamilyReport r = check(l, edited("tied_embeddings: true", "tied_embeddings: false"));
    CHECK(!r.compliant);
    CHECK(r.missing == std::vector<std::string>{"lm_head.weight"});
  }
}

namespace {

const ConstraintCheck* constraint(const FamilyReport& r, std::string_view name) {
  for (const ConstraintCheck& c : r.constraints) {
    if (c.constraint == name) {
      return &c;
    }
  }
  return nullptr;
}

// The Llama 3.2 1B contract with one more constraint.
std::string with_constraint(std::string_view c) {
  return edited("mlp_type: swiglu}", fmt::format("mlp_type: swiglu, {}}}", c));
}

}  // namespace

TEST_CASE("compliance: an activation config.json contradicts fails, naming both values") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport ok = check(l, with_constraint("activation: silu"));
  REQUIRE(constraint(ok, "activation"));
  CHECK(constraint(ok, "activation")->pass);
  CHECK(ok.compliant);

  const FamilyReport r = check(l, with_constraint("activation: gelu"));
  CHECK(!r.compliant);
  const ConstraintCheck* c = constraint(r, "activation");
  REQUIRE(c);
  CHECK(!c->pass);
  CHECK(c->contract == "gelu");
  CHECK(c->model == "silu");
  CHECK(c->evidence == "config.json hidden_act = silu");
}

TEST_CASE("compliance: activations read as transformers names them, tanh GELU apart") {
  // gpt2 activation_function gelu_new, gemma-2 gelu_pytorch_tanh, T5 feed_forward_proj
  // gated-gelu (run as gelu_new), BERT exact gelu.
  for (const auto& [folder, seen] : std::vector<std::pair<std::string, std::string>>{
           {"openai-community__gpt2", "gelu_tanh"},
           {"google__gemma-2-9b", "gelu_tanh"},
           {"google__flan-t5-large", "gelu_tanh"},
           {"google-bert__bert-base-uncased", "gelu"}}) {
    DYNAMIC_SECTION(folder) {
      const Loaded l = load(folder);
      auto r = check_family(l.model, l.params, builtin_family_contracts());
      REQUIRE(r);
      const ConstraintCheck* c = constraint(*r, "activation");
      REQUIRE(c);
      CHECK(c->model == seen);
      CHECK(c->pass);
    }
  }
  // bigscience/bloomz-560m config.json names no activation: reported, not guessed.
  const Loaded bloom = load("bigscience__bloomz-560m");
  auto r = check_family(bloom.model, bloom.params, builtin_family_contracts());
  REQUIRE(r);
  CHECK(constraint(*r, "activation") == nullptr);
  CHECK(std::any_of(r->notes.begin(), r->notes.end(), [](const std::string& n) {
    return n == "activation not checked: config.json names none";
  }));
}

TEST_CASE("compliance: a norm the tensors contradict fails, and a norm with a bias is LayerNorm") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r = check(l, with_constraint("norm_type: layernorm"));
  CHECK(!r.compliant);
  const ConstraintCheck* c = constraint(r, "norm_type");
  REQUIRE(c);
  CHECK(!c->pass);
  CHECK(c->contract == "layernorm");
  CHECK(c->model == "rmsnorm");
  CHECK(c->evidence.starts_with("no norm tensor has a bias"));

  // GPT-2's LayerNorms carry biases: a contract saying RMSNorm fails, naming the tensor.
  const Loaded gpt2 = load("openai-community__gpt2");
  auto builtin = check_family(gpt2.model, gpt2.params, builtin_family_contracts());
  REQUIRE(builtin);
  REQUIRE(constraint(*builtin, "norm_type"));
  CHECK(constraint(*builtin, "norm_type")->model == "layernorm");
  CHECK(constraint(*builtin, "norm_type")->evidence.find(".bias") != std::string::npos);
  std::vector<FamilyContract> registry;
  for (const FamilyContract& f : builtin_family_contracts()) {
    if (f.family == "gpt2") {
      registry.push_back(f);
      registry.back().constraints.norm_type = NormType::rmsnorm;
    }
  }
  auto rms = check_family(gpt2.model, gpt2.params, registry);
  REQUIRE(rms);
  CHECK(!rms->compliant);
  CHECK(!constraint(*rms, "norm_type")->pass);
}

TEST_CASE("compliance: positional encoding as the model shows it, a contradiction fails") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  const FamilyReport r = check(l, with_constraint("positional_encoding: absolute"));
  CHECK(!r.compliant);
  const ConstraintCheck* c = constraint(r, "positional_encoding");
  REQUIRE(c);
  CHECK(!c->pass);
  CHECK(c->contract == "absolute");
  CHECK(c->model == "rope");

  // Learned table (a position embedding tensor), ALiBi (bloom), T5's relative buckets, no
  // positions in a recurrent stack, rotary.
  for (const auto& [folder, seen, evidence] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"openai-community__gpt2", "absolute", "wpe.weight"},
           {"google-bert__bert-base-uncased", "absolute", "position_embeddings"},
           {"bigscience__bloomz-560m", "alibi", "ALiBi"},
           {"google__flan-t5-large", "relative", "relative_attention_bias"},
           {"state-spaces__mamba-130m-hf", "none", "recurrent"},
           {"Qwen__Qwen3-8B", "rope", "rotary"}}) {
    DYNAMIC_SECTION(folder) {
      const Loaded m = load(folder);
      auto fr = check_family(m.model, m.params, builtin_family_contracts());
      REQUIRE(fr);
      const ConstraintCheck* p = constraint(*fr, "positional_encoding");
      REQUIRE(p);
      CHECK(p->model == seen);
      CHECK(p->evidence.find(evidence) != std::string::npos);
      CHECK(p->pass);
    }
  }
}

TEST_CASE("a stated size variant that config.json contradicts is refused, not repaired") {
  const Loaded l = load("meta-llama__Llama-3.2-1B-Instruct");
  std::string two = std::string(k_llama_1b);
  two.replace(two.find("size_variants:\n"), 15,
              "size_variants:\n  8b: {hidden_dim: 4096, num_layers: 32, num_heads: 32, "
              "num_kv_heads: 8, vocab_size: 128256, intermediate_dim: 14336}\n");
  const FamilyReport r = check(l, two, "8b");
  CHECK(r.size == "8b");
  CHECK(!r.compliant);
  REQUIRE(!r.conflicts.empty());
  bool hidden = false;
  for (const DimConflict& c : r.conflicts) {
    if (c.field == "hidden_dim") {
      hidden = true;
      CHECK(c.stated == "4096");
      CHECK(c.found == "2048");
      CHECK(c.source == "--size 8b");
    }
  }
  CHECK(hidden);
  const std::vector<FamilyContract> registry{contract_from(two)};
  auto unknown = check_family(l.model, l.params, registry, "auto", "3b");
  REQUIRE(!unknown);
  CHECK(unknown.error().kind == ErrorKind::usage);
}

TEST_CASE("a contract in the seed's format validates Llama-3.3-70B") {
  auto registry = load_family_contracts(test::data_dir() / "contracts" / "seed");
  REQUIRE(registry);
  const Loaded l = load("meta-llama__Llama-3.3-70B-Instruct");
  auto r = check_family(l.model, l.params, *registry, "llama");
  REQUIRE(r);
  CHECK(r->size == "70b");
  CHECK(r->compliant);
  CHECK(r->expected_tensors == 3 + 80 * 9);
  CHECK(r->shapes_checked == 2 + 80 * 9);
  REQUIRE(r->cross);
  CHECK(r->cross->count(FieldStatus::mismatch) == 0);
  CHECK(r->cross->count(FieldStatus::match) >= 9);
}

TEST_CASE("emit-contract: the contract a model implies reads back and the model complies") {
  std::vector<std::string> folders;
  for (const auto& entry : std::filesystem::directory_iterator(test::corpus_dir())) {
    if (std::filesystem::exists(entry.path() / "config.json")) {
      folders.push_back(entry.path().filename().string());
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(test::data_dir() / "synthetic")) {
    if (std::filesystem::exists(entry.path() / "config.json")) {  // not tools/
      folders.push_back("synthetic/" + entry.path().filename().string());
    }
  }
  std::sort(folders.begin(), folders.end());
  REQUIRE(folders.size() == 41);
  for (const std::string& folder : folders) {
    DYNAMIC_SECTION(folder) {
      const Loaded l = load(folder);
      const std::string yaml =
          render_family_contract_yaml(derive_family_contract(l.model, l.params));
      auto parsed = parse_family_contract("emitted.yaml", yaml);
      INFO(yaml);
      REQUIRE(parsed);
      CHECK(parsed->family == l.model.config->model_type);
      CHECK(render_family_contract_yaml(*parsed) == yaml);
      const std::vector<FamilyContract> registry{*parsed};
      auto r = check_family(l.model, l.params, registry);
      REQUIRE(r);
      CHECK(r->size == parsed->size_variants.front().name);
      CHECK(r->missing.empty());
      CHECK(r->unexpected.empty());
      CHECK(r->shape_mismatches.empty());
      CHECK(r->compliant);
      CHECK(r->shapes_checked > 0);
    }
  }
}
