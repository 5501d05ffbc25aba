// Parameter counting on small hand-written headers: quantized containers, auxiliaries,
// buffers, components and MoE active params. Every expected number is worked out in a comment.
#include "mbuild/analysis/param_count.hpp"

#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/model/model.hpp"
#include "test_support.hpp"

using namespace mbuild;

namespace {

// A model from a config and one header-only model.safetensors holding `specs`.
Model model_of(std::string_view config, const std::vector<test::TensorSpec>& specs) {
  Snapshot snap;
  snap.ref.id = "test/model";
  if (!config.empty()) {
    snap.config_json = std::string(config);
  }
  const std::string bytes = test::safetensors_bytes(test::header_json(specs));
  snap.files.push_back(WeightFile{"model.safetensors", bytes.size(), ByteBuffer::copy_of(bytes)});
  auto model = build_model(std::move(snap));
  if (!model) {
    FAIL("build_model failed: " << model.error().message());
  }
  return std::move(*model);
}

const TensorClass& class_of(const Model& model, const ParamCount& pc, std::string_view name) {
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    if (model.tensors[i].name == name) {
      return pc.classes[i];
    }
  }
  FAIL("no tensor " << name);
  return pc.classes.front();
}

uint64_t component(const ParamCount& pc, Component c) {
  return pc.by_component[static_cast<size_t>(c)];
}

uint64_t dtype_count(const ParamCount& pc, const std::string& label) {
  auto it = pc.by_dtype.find(label);
  return it == pc.by_dtype.end() ? 0 : it->second;
}

// The totals add up whichever way they are cut.
void check_sums(const ParamCount& pc) {
  uint64_t by_dtype = 0;
  for (const auto& [name, n] : pc.by_dtype) {
    by_dtype += n;
  }
  CHECK(by_dtype == pc.total);
  CHECK(std::accumulate(pc.by_component.begin(), pc.by_component.end(), uint64_t{0}) == pc.total);
  uint64_t raw = 0;
  for (const auto& [name, n] : pc.raw_elements_by_dtype) {
    raw += n;
  }
  CHECK(raw == pc.raw_elements);
}

// Each name stored as one F32 element, for component checks.
void check_components(std::string_view config,
                      const std::vector<std::pair<std::string, Component>>& expected) {
  std::vector<test::TensorSpec> specs;
  for (const auto& [name, c] : expected) {
    specs.push_back({name, "F32", {1}});
  }
  Model model = model_of(config, specs);
  ParamCount pc = count_params(model);
  for (const auto& [name, c] : expected) {
    INFO(name);
    CHECK(component_name(class_of(model, pc, name).component) == component_name(c));
  }
}

}  // namespace

// ---- quantized containers -----------------------------------------------------------------

TEST_CASE("GPTQ qweight counts the weights it packs, qzeros, scales and g_idx do not count") {
  // q_proj 256 x 256 at 4 bits: qweight I32 [256 / 8, 256] = 8,192 int32 = 65,536 weights;
  // group 128: qzeros I32 [2, 256 / 8] = 64, scales F16 [2, 256] = 512, g_idx I32 [256] = 256.
  // total = embed 100 x 256 (25,600) + 65,536 + norm 256 = 91,392.
  Model model = model_of(
      R"({"model_type":"llama","num_hidden_layers":1,
          "quantization_config":{"quant_method":"gptq","bits":4,"group_size":128}})",
      {{"model.embed_tokens.weight", "F16", {100, 256}},
       {"model.layers.0.self_attn.q_proj.qweight", "I32", {32, 256}},
       {"model.layers.0.self_attn.q_proj.qzeros", "I32", {2, 32}},
       {"model.layers.0.self_attn.q_proj.scales", "F16", {2, 256}},
       {"model.layers.0.self_attn.q_proj.g_idx", "I32", {256}},
       {"model.norm.weight", "F16", {256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 91'392);
  CHECK(pc.raw_elements == 25'600 + 8'192 + 64 + 512 + 256 + 256);
  CHECK(pc.quant_aux_elements == 64 + 512 + 256);
  CHECK(dtype_count(pc, "INT4") == 65'536);
  CHECK(dtype_count(pc, "F16") == 25'856);
  CHECK(component(pc, Component::attention) == 65'536);
  CHECK(pc.quant_method == "gptq");
  CHECK(class_of(model, pc, "model.layers.0.self_attn.q_proj.qweight").role == TensorRole::packed);
  CHECK(class_of(model, pc, "model.layers.0.self_attn.q_proj.g_idx").role == TensorRole::quant_aux);
  check_sums(pc);
}

TEST_CASE("GPTQ 8-bit qweight holds four weights per int32") {
  // 256 x 256 at 8 bits: qweight I32 [256 / 4, 256] = 16,384 int32 = 65,536 weights.
  Model model =
      model_of(R"({"quantization_config":{"quant_method":"gptq","bits":8,"group_size":128}})",
               {{"model.layers.0.mlp.up_proj.qweight", "I32", {64, 256}},
                {"model.layers.0.mlp.up_proj.scales", "F16", {2, 256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 65'536);
  CHECK(dtype_count(pc, "INT8") == 65'536);
}

TEST_CASE("AWQ qweight [in, out x bits / 32] counts in x out weights") {
  // in = out = 256, 4 bits: qweight I32 [256, 256 x 4 / 32 = 32] = 8,192 int32 = 65,536 weights;
  // qzeros I32 [2, 32] = 64 and scales F16 [2, 256] = 512 do not count.
  // total = 25,600 + 65,536 + 256 = 91,392.
  Model model = model_of(
      R"({"model_type":"mistral","num_hidden_layers":1,
          "quantization_config":{"quant_method":"awq","bits":4,"group_size":128,
                                 "version":"gemm","zero_point":true}})",
      {{"model.embed_tokens.weight", "F16", {100, 256}},
       {"model.layers.0.self_attn.q_proj.qweight", "I32", {256, 32}},
       {"model.layers.0.self_attn.q_proj.qzeros", "I32", {2, 32}},
       {"model.layers.0.self_attn.q_proj.scales", "F16", {2, 256}},
       {"model.norm.weight", "F16", {256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 91'392);
  CHECK(pc.quant_aux_elements == 576);
  CHECK(dtype_count(pc, "INT4") == 65'536);
  CHECK(pc.quant_method == "awq");
  check_sums(pc);
}

TEST_CASE(
    "compressed-tensors weight_packed counts its weights, scale, zero point, shape, "
    "g_idx do not") {
  // down_proj out 256 x in 256 at 4 bits: weight_packed I32 [256, 256 / 8] = 8,192 int32 =
  // 65,536 weights. weight_scale BF16 [256, 2] = 512, weight_zero_point I32 [32, 2] = 64,
  // weight_shape I64 [2] = 2, weight_g_idx I32 [256] = 256 do not count (834 in all).
  // total = 65,536 + input_layernorm 256 + lm_head 100 x 256 (25,600) = 91,392.
  Model model = model_of(
      R"({"model_type":"llama","num_hidden_layers":1,
          "quantization_config":{"quant_method":"compressed-tensors","format":"pack-quantized",
            "config_groups":{"group_0":{"weights":{"num_bits":4,"group_size":128}}}}})",
      {{"model.layers.0.mlp.down_proj.weight_packed", "I32", {256, 32}},
       {"model.layers.0.mlp.down_proj.weight_scale", "BF16", {256, 2}},
       {"model.layers.0.mlp.down_proj.weight_zero_point", "I32", {32, 2}},
       {"model.layers.0.mlp.down_proj.weight_shape", "I64", {2}},
       {"model.layers.0.mlp.down_proj.weight_g_idx", "I32", {256}},
       {"model.layers.0.input_layernorm.weight", "BF16", {256}},
       {"lm_head.weight", "BF16", {100, 256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 91'392);
  CHECK(pc.quant_aux_elements == 834);
  CHECK(dtype_count(pc, "INT4") == 65'536);
  CHECK(component(pc, Component::mlp) == 65'536);
  CHECK(component(pc, Component::lm_head) == 25'600);
  CHECK(component(pc, Component::norms) == 256);
  CHECK(pc.quant_method == "compressed-tensors");
  check_sums(pc);
}

TEST_CASE("bitsandbytes 4-bit weight U8 [n / 2, 1] counts n weights, its quant state does not") {
  // q_proj 256 x 256 = 65,536 NF4 weights stored two a byte: U8 [32,768, 1].
  // Not counted: absmax U8 [65,536 / 64 = 1,024] (double-quantized), nested_absmax F32 [4],
  // nested_quant_map F32 [256], quant_map F32 [16], quant_state.bitsandbytes__nf4 U8 [117]
  // = 1,417. total = 65,536 + embed 25,600 + norm 256 = 91,392.
  Model model = model_of(
      R"({"model_type":"llama","num_hidden_layers":1,
          "quantization_config":{"quant_method":"bitsandbytes","load_in_4bit":true,
                                 "bnb_4bit_quant_type":"nf4","bnb_4bit_use_double_quant":true}})",
      {{"model.embed_tokens.weight", "BF16", {100, 256}},
       {"model.layers.0.self_attn.q_proj.weight", "U8", {32768, 1}},
       {"model.layers.0.self_attn.q_proj.weight.absmax", "U8", {1024}},
       {"model.layers.0.self_attn.q_proj.weight.nested_absmax", "F32", {4}},
       {"model.layers.0.self_attn.q_proj.weight.nested_quant_map", "F32", {256}},
       {"model.layers.0.self_attn.q_proj.weight.quant_map", "F32", {16}},
       {"model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4", "U8", {117}},
       {"model.norm.weight", "BF16", {256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 91'392);
  CHECK(pc.quant_aux_elements == 1'417);
  CHECK(dtype_count(pc, "NF4") == 65'536);
  CHECK(dtype_count(pc, "BF16") == 25'856);
  CHECK(pc.quant_method == "bitsandbytes");
  check_sums(pc);
}

TEST_CASE("MXFP4 _blocks hold two weights a byte, _scales do not count (gpt-oss)") {
  // 4 experts, hidden 64, expert intermediate 32, MXFP4 blocks of 32 values in 16 bytes:
  // gate_up_proj_blocks U8 [4, 2 x 32, 64 / 32, 16] = 8,192 bytes = 16,384 weights (4 x 64 x 64);
  // down_proj_blocks U8 [4, 64, 32 / 32, 16] = 4,096 bytes = 8,192 weights (4 x 64 x 32);
  // _scales U8 [4, 64, 2] = 512 and [4, 64, 1] = 256 do not count.
  // Biases BF16 [4, 64] x 2 = 512 (experts); router [4, 64] + [4] = 260.
  // total = 16,384 + 8,192 + 512 + 260 = 25,348; routed experts = 25,088;
  // active = 260 + 25,088 / 4 x top-2 = 260 + 12,544 = 12,804.
  Model model = model_of(
      R"({"model_type":"gpt_oss","num_hidden_layers":1,"num_local_experts":4,
          "num_experts_per_tok":2,"quantization_config":{"quant_method":"mxfp4"}})",
      {{"model.layers.0.mlp.experts.gate_up_proj_blocks", "U8", {4, 64, 2, 16}},
       {"model.layers.0.mlp.experts.gate_up_proj_scales", "U8", {4, 64, 2}},
       {"model.layers.0.mlp.experts.gate_up_proj_bias", "BF16", {4, 64}},
       {"model.layers.0.mlp.experts.down_proj_blocks", "U8", {4, 64, 1, 16}},
       {"model.layers.0.mlp.experts.down_proj_scales", "U8", {4, 64, 1}},
       {"model.layers.0.mlp.experts.down_proj_bias", "BF16", {4, 64}},
       {"model.layers.0.mlp.router.weight", "BF16", {4, 64}},
       {"model.layers.0.mlp.router.bias", "BF16", {4}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 25'348);
  CHECK(pc.quant_aux_elements == 768);
  CHECK(dtype_count(pc, "MXFP4") == 24'576);
  CHECK(component(pc, Component::moe_experts) == 25'088);
  CHECK(component(pc, Component::router) == 260);
  CHECK(pc.routed_expert_params == 25'088);
  REQUIRE(pc.active);
  CHECK(*pc.active == 12'804);
  CHECK(pc.quant_method == "mxfp4");
  check_sums(pc);
}

TEST_CASE("FP8 weights count as stored, weight_scale_inv does not (DeepSeek-V3)") {
  // o_proj F8_E4M3 [256, 256] = 65,536; weight_scale_inv F32 [256 / 128, 256 / 128] = 4 does not
  // count. total = 65,536 + input_layernorm 256 + embed 25,600 = 91,392.
  Model model = model_of(
      R"({"model_type":"deepseek_v3","num_hidden_layers":1,
          "quantization_config":{"quant_method":"fp8","fmt":"e4m3",
                                 "weight_block_size":[128,128]}})",
      {{"model.embed_tokens.weight", "BF16", {100, 256}},
       {"model.layers.0.self_attn.o_proj.weight", "F8_E4M3", {256, 256}},
       {"model.layers.0.self_attn.o_proj.weight_scale_inv", "F32", {2, 2}},
       {"model.layers.0.input_layernorm.weight", "BF16", {256}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 91'392);
  CHECK(pc.quant_aux_elements == 4);
  CHECK(dtype_count(pc, "F8_E4M3") == 65'536);
  CHECK(dtype_count(pc, "BF16") == 25'856);
  CHECK(pc.quant_method == "fp8");
  check_sums(pc);
}

TEST_CASE("MLX affine U32 weights count per module bits, with a per-module override") {
  // Default 4-bit, group 64; model.embed_tokens overridden to 8-bit.
  // embed_tokens.weight U32 [100, 128 x 8 / 32 = 32] = 3,200 words = 12,800 weights (100 x 128);
  // down_proj.weight U32 [128, 256 x 4 / 32 = 32] = 4,096 words = 32,768 weights (128 x 256);
  // scales/biases BF16 [100, 128 / 64 = 2] x 2 = 400 and [128, 256 / 64 = 4] x 2 = 1,024 do not
  // count. total = 12,800 + 32,768 + norm 128 = 45,696.
  Model model = model_of(
      R"({"model_type":"llama","num_hidden_layers":1,
          "quantization":{"group_size":64,"bits":4,
                          "model.embed_tokens":{"group_size":64,"bits":8}}})",
      {{"model.embed_tokens.weight", "U32", {100, 32}},
       {"model.embed_tokens.scales", "BF16", {100, 2}},
       {"model.embed_tokens.biases", "BF16", {100, 2}},
       {"model.layers.0.mlp.down_proj.weight", "U32", {128, 32}},
       {"model.layers.0.mlp.down_proj.scales", "BF16", {128, 4}},
       {"model.layers.0.mlp.down_proj.biases", "BF16", {128, 4}},
       {"model.norm.weight", "BF16", {128}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 45'696);
  CHECK(pc.quant_aux_elements == 1'424);
  CHECK(dtype_count(pc, "INT8") == 12'800);
  CHECK(dtype_count(pc, "INT4") == 32'768);
  CHECK(pc.embedding == 12'800);
  CHECK(pc.quant_method == "mlx");
  for (const Finding& f : pc.findings) {
    CHECK(f.text.find("shapes say") == std::string::npos);  // config and shapes agree
  }
  check_sums(pc);
}

TEST_CASE("MLX shapes win over a config that disagrees, with a warning") {
  // Config says 4-bit, but weight U32 [64, 64 x 8 / 32 = 16] with scales [64, 64 / 64 = 1]:
  // 16 x 32 / 64 = 8 bits per weight. Counted 64 x 64 = 4,096.
  Model model = model_of(R"({"quantization":{"group_size":64,"bits":4}})",
                         {{"lm_head.weight", "U32", {64, 16}},
                          {"lm_head.scales", "BF16", {64, 1}},
                          {"lm_head.biases", "BF16", {64, 1}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 4'096);
  CHECK(dtype_count(pc, "INT8") == 4'096);
  REQUIRE(pc.findings.size() == 1);
  CHECK(pc.findings[0].text.find("config says 4-bit, the shapes say 8-bit") != std::string::npos);
}

TEST_CASE("FP4 experts declared by expert_dtype count two weights a byte, E8M0 scales do not") {
  // 2 routed experts, w1 I8 [64, 32] = 2,048 bytes = 4,096 FP4 weights each (8,192 routed);
  // their .scale F8_E8M0 [64, 2] = 128 each do not count, nor does wq.scale F32 [1, 1] (fp8).
  // Shared expert F8_E4M3 [64, 64] = 4,096; attention wq F8_E4M3 [64, 64] = 4,096;
  // router BF16 [2, 64] = 128. total = 8,192 + 4,096 + 4,096 + 128 = 16,512;
  // active = 16,512 - 8,192 + 8,192 / 2 x top-1 = 12,416.
  Model model = model_of(
      R"({"model_type":"deepseek_v4","num_hidden_layers":1,"n_routed_experts":2,
          "num_experts_per_tok":1,"expert_dtype":"fp4",
          "quantization_config":{"quant_method":"fp8","weight_block_size":[128,128]}})",
      {{"layers.0.attn.wq.weight", "F8_E4M3", {64, 64}},
       {"layers.0.attn.wq.scale", "F32", {1, 1}},
       {"layers.0.ffn.gate.weight", "BF16", {2, 64}},
       {"layers.0.ffn.experts.0.w1.weight", "I8", {64, 32}},
       {"layers.0.ffn.experts.0.w1.scale", "F8_E8M0", {64, 2}},
       {"layers.0.ffn.experts.1.w1.weight", "I8", {64, 32}},
       {"layers.0.ffn.experts.1.w1.scale", "F8_E8M0", {64, 2}},
       {"layers.0.ffn.shared_experts.w1.weight", "F8_E4M3", {64, 64}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 16'512);
  CHECK(pc.quant_aux_elements == 257);
  CHECK(dtype_count(pc, "FP4") == 8'192);
  CHECK(dtype_count(pc, "F8_E4M3") == 8'192);
  CHECK(component(pc, Component::moe_experts) == 8'192);
  CHECK(component(pc, Component::shared_experts) == 4'096);
  CHECK(component(pc, Component::router) == 128);
  REQUIRE(pc.active);
  CHECK(*pc.active == 12'416);
  check_sums(pc);
}

// ---- buffers ------------------------------------------------------------------------------

TEST_CASE("GPT-2 attn.bias masks are counted as buffers and listed") {
  // wte [10, 8] = 80; c_attn.weight [8, 24] = 192 and c_attn.bias [24] = 24 are parameters;
  // attn.bias [1, 1, 4, 4] = 16 is the causal mask buffer. total = 80 + 192 + 24 + 16 = 312.
  Model model = model_of(R"({"model_type":"gpt2","n_layer":1,"n_embd":8,"n_head":2})",
                         {{"wte.weight", "F32", {10, 8}},
                          {"h.0.attn.bias", "F32", {1, 1, 4, 4}},
                          {"h.0.attn.c_attn.bias", "F32", {24}},
                          {"h.0.attn.c_attn.weight", "F32", {8, 24}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 312);
  CHECK(pc.buffers == 16);
  CHECK(pc.buffer_names == std::vector<std::string>{"h.0.attn.bias"});
  CHECK(class_of(model, pc, "h.0.attn.bias").role == TensorRole::buffer);
  CHECK(class_of(model, pc, "h.0.attn.c_attn.bias").role == TensorRole::parameter);
  CHECK(pc.tied_embeddings);  // GPT-2 ties lm_head to wte
  check_sums(pc);
}

// ---- components ---------------------------------------------------------------------------

TEST_CASE("component of BERT tensor names") {
  check_components(R"({"model_type":"bert","num_hidden_layers":1})",
                   {{"bert.embeddings.word_embeddings.weight", Component::embedding},
                    {"bert.embeddings.position_embeddings.weight", Component::embedding},
                    {"bert.embeddings.LayerNorm.weight", Component::norms},
                    {"bert.encoder.layer.0.attention.self.query.weight", Component::attention},
                    {"bert.encoder.layer.0.attention.output.dense.weight", Component::attention},
                    {"bert.encoder.layer.0.attention.output.LayerNorm.weight", Component::norms},
                    {"bert.encoder.layer.0.intermediate.dense.weight", Component::mlp},
                    {"bert.encoder.layer.0.output.dense.weight", Component::mlp},
                    {"bert.pooler.dense.weight", Component::other},
                    {"cls.predictions.transform.dense.weight", Component::lm_head}});
}

TEST_CASE("component of T5 tensor names") {
  check_components(R"({"model_type":"t5","num_layers":1})",
                   {{"shared.weight", Component::embedding},
                    {"encoder.embed_tokens.weight", Component::embedding},
                    {"encoder.block.0.layer.0.SelfAttention.q.weight", Component::attention},
                    {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                     Component::attention},
                    {"encoder.block.0.layer.0.layer_norm.weight", Component::norms},
                    {"encoder.block.0.layer.1.DenseReluDense.wi_0.weight", Component::mlp},
                    {"decoder.block.0.layer.1.EncDecAttention.k.weight", Component::attention},
                    {"decoder.final_layer_norm.weight", Component::norms},
                    {"lm_head.weight", Component::lm_head}});
}

TEST_CASE("component of GPT-2 tensor names") {
  check_components(R"({"model_type":"gpt2","n_layer":1})",
                   {{"wte.weight", Component::embedding},
                    {"wpe.weight", Component::embedding},
                    {"h.0.ln_1.weight", Component::norms},
                    {"h.0.attn.c_attn.weight", Component::attention},
                    {"h.0.attn.c_proj.weight", Component::attention},
                    {"h.0.mlp.c_fc.weight", Component::mlp},
                    {"ln_f.weight", Component::norms}});
}

TEST_CASE("component of BLOOM tensor names") {
  check_components(R"({"model_type":"bloom","n_layer":1})",
                   {{"word_embeddings.weight", Component::embedding},
                    {"word_embeddings_layernorm.weight", Component::norms},
                    {"h.0.input_layernorm.weight", Component::norms},
                    {"h.0.self_attention.query_key_value.weight", Component::attention},
                    {"h.0.mlp.dense_h_to_4h.weight", Component::mlp},
                    {"ln_f.bias", Component::norms}});
}

TEST_CASE("component of Mamba tensor names") {
  check_components(R"({"model_type":"mamba","num_hidden_layers":1})",
                   {{"backbone.embeddings.weight", Component::embedding},
                    {"backbone.layers.0.mixer.in_proj.weight", Component::ssm},
                    {"backbone.layers.0.mixer.A_log", Component::ssm},
                    {"backbone.layers.0.mixer.conv1d.weight", Component::ssm},
                    {"backbone.layers.0.norm.weight", Component::norms},
                    {"backbone.norm_f.weight", Component::norms}});
}

TEST_CASE("component of DeepSeek MLA and MoE tensor names") {
  check_components(
      R"({"model_type":"deepseek_v3","num_hidden_layers":4,"n_routed_experts":1,
          "num_experts_per_tok":1})",
      {{"model.layers.0.self_attn.q_a_proj.weight", Component::attention},
       {"model.layers.0.self_attn.q_a_layernorm.weight", Component::norms},
       {"model.layers.0.self_attn.kv_a_proj_with_mqa.weight", Component::attention},
       {"model.layers.0.self_attn.kv_a_layernorm.weight", Component::norms},
       {"model.layers.0.self_attn.kv_b_proj.weight", Component::attention},
       {"model.layers.0.mlp.gate_proj.weight", Component::mlp},
       {"model.layers.3.mlp.experts.0.gate_proj.weight", Component::moe_experts},
       {"model.layers.3.mlp.shared_experts.down_proj.weight", Component::shared_experts},
       {"model.layers.3.mlp.gate.weight", Component::router},
       {"model.layers.3.mlp.gate.e_score_correction_bias", Component::router}});
}

TEST_CASE("component of Qwen3-Next linear attention, experts and MTP tensor names") {
  check_components(
      R"({"model_type":"qwen3_next","num_hidden_layers":4,"num_experts":1,
          "num_experts_per_tok":1})",
      {{"model.layers.0.linear_attn.in_proj_qkvz.weight", Component::attention},
       {"model.layers.0.linear_attn.conv1d.weight", Component::attention},
       {"model.layers.0.linear_attn.A_log", Component::attention},
       {"model.layers.0.linear_attn.norm.weight", Component::norms},
       {"model.layers.3.self_attn.q_proj.weight", Component::attention},
       {"model.layers.0.mlp.experts.0.up_proj.weight", Component::moe_experts},
       {"model.layers.0.mlp.shared_expert.gate_proj.weight", Component::shared_experts},
       {"model.layers.0.mlp.shared_expert_gate.weight", Component::shared_experts},
       {"model.layers.0.mlp.gate.weight", Component::router},
       {"mtp.fc.weight", Component::mtp},
       {"mtp.layers.0.mlp.experts.0.up_proj.weight", Component::mtp}});
}

TEST_CASE("component of Mixtral experts and gate tensor names") {
  check_components(
      R"({"model_type":"mixtral","num_hidden_layers":1,"num_local_experts":1,
          "num_experts_per_tok":1})",
      {{"model.embed_tokens.weight", Component::embedding},
       {"model.layers.0.self_attn.k_proj.weight", Component::attention},
       {"model.layers.0.block_sparse_moe.experts.0.w1.weight", Component::moe_experts},
       {"model.layers.0.block_sparse_moe.gate.weight", Component::router},
       {"model.layers.0.post_attention_layernorm.weight", Component::norms},
       {"lm_head.weight", Component::lm_head}});
}

TEST_CASE("component of MLX gemma3 vision and language_model tensor names") {
  // Names as in mlx-community/gemma-3-4b-pt-4bit.
  check_components(
      R"({"model_type":"gemma3","text_config":{"model_type":"gemma3_text","num_hidden_layers":1}})",
      {{"language_model.model.embed_tokens.weight", Component::embedding},
       {"language_model.model.layers.0.self_attn.q_proj.weight", Component::attention},
       {"language_model.model.layers.0.self_attn.q_norm.weight", Component::norms},
       {"language_model.model.layers.0.mlp.gate_proj.weight", Component::mlp},
       {"language_model.model.layers.0.pre_feedforward_layernorm.weight", Component::norms},
       {"language_model.model.norm.weight", Component::norms},
       {"vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight", Component::vision},
       {"vision_tower.vision_model.embeddings.patch_embedding.weight", Component::vision},
       {"multi_modal_projector.mm_input_projection_weight", Component::projector},
       {"multi_modal_projector.mm_soft_emb_norm.weight", Component::projector}});
}

TEST_CASE("DeepSeek-V3 layer 61 is the MTP module when num_nextn_predict_layers is 1") {
  // num_hidden_layers 61 (layers 0..60); the MTP module is stored as model.layers.61.
  const char* config = R"({"model_type":"deepseek_v3","num_hidden_layers":61,
                           "num_nextn_predict_layers":1,"n_routed_experts":1,
                           "num_experts_per_tok":1})";
  check_components(config, {{"model.layers.60.self_attn.q_a_proj.weight", Component::attention},
                            {"model.layers.61.eh_proj.weight", Component::mtp},
                            {"model.layers.61.enorm.weight", Component::mtp},
                            {"model.layers.61.self_attn.q_a_proj.weight", Component::mtp},
                            {"model.layers.61.mlp.experts.0.gate_proj.weight", Component::mtp},
                            {"model.layers.61.shared_head.head.weight", Component::mtp}});
  // Without the MTP count, layer 61 is an ordinary layer.
  check_components(R"({"model_type":"deepseek_v3","num_hidden_layers":61})",
                   {{"model.layers.61.enorm.weight", Component::norms},
                    {"model.layers.61.self_attn.q_a_proj.weight", Component::attention}});
}

TEST_CASE("layer indices are read after a layer container segment") {
  CHECK(layer_index_of("model.layers.12.mlp.up_proj.weight") == 12U);
  CHECK(layer_index_of("h.3.attn.c_attn.weight") == 3U);
  CHECK(layer_index_of("encoder.block.5.layer.1.DenseReluDense.wi.weight") == 5U);
  CHECK(layer_index_of("model.layers.3.mlp.experts.7.w1.weight") == 3U);
  CHECK_FALSE(layer_index_of("lm_head.weight").has_value());
  CHECK_FALSE(layer_index_of("model.embed_tokens.weight").has_value());
}

// ---- MoE active -----------------------------------------------------------------------------

TEST_CASE("MoE active params are top-k routed experts plus everything else") {
  // 2 layers, 4 experts, top-2, hidden 8, expert intermediate 16 (all F32):
  // per layer: q_proj 8 x 8 = 64, gate 4 x 8 = 32, experts 4 x (16x8 + 8x16 + 16x8 = 384) =
  // 1,536, input_layernorm 8 -> 1,640; embed 32 x 8 = 256, norm 8, lm_head 32 x 8 = 256.
  // total = 2 x 1,640 + 256 + 8 + 256 = 3,800; routed = 2 x 1,536 = 3,072;
  // active = (3,800 - 3,072) + 2 layers x 2 experts x 384 = 728 + 1,536 = 2,264.
  std::vector<test::TensorSpec> specs = {{"model.embed_tokens.weight", "F32", {32, 8}}};
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    specs.push_back({p + "self_attn.q_proj.weight", "F32", {8, 8}});
    specs.push_back({p + "block_sparse_moe.gate.weight", "F32", {4, 8}});
    for (int e = 0; e < 4; ++e) {
      const std::string x = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      specs.push_back({x + "w1.weight", "F32", {16, 8}});
      specs.push_back({x + "w2.weight", "F32", {8, 16}});
      specs.push_back({x + "w3.weight", "F32", {16, 8}});
    }
    specs.push_back({p + "input_layernorm.weight", "F32", {8}});
  }
  specs.push_back({"model.norm.weight", "F32", {8}});
  specs.push_back({"lm_head.weight", "F32", {32, 8}});
  Model model = model_of(R"({"model_type":"mixtral","num_hidden_layers":2,
                             "num_local_experts":4,"num_experts_per_tok":2,
                             "tie_word_embeddings":false})",
                         specs);
  ParamCount pc = count_params(model);
  CHECK(pc.total == 3'800);
  CHECK(pc.routed_expert_params == 3'072);
  CHECK(component(pc, Component::router) == 64);
  CHECK(component(pc, Component::lm_head) == 256);
  CHECK(pc.embedding == 256);
  CHECK_FALSE(pc.tied_embeddings);
  REQUIRE(pc.active);
  CHECK(*pc.active == 2'264);
  check_sums(pc);
}

TEST_CASE("MoE active params are not computed when top-k is unknown") {
  Model model = model_of(R"({"model_type":"mixtral","num_hidden_layers":1})",
                         {{"model.layers.0.block_sparse_moe.experts.0.w1.weight", "F32", {4, 4}},
                          {"model.layers.0.block_sparse_moe.experts.1.w1.weight", "F32", {4, 4}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 32);
  CHECK_FALSE(pc.active.has_value());
  REQUIRE(pc.findings.size() == 1);
  CHECK(pc.findings[0].text.find("active params not computed") != std::string::npos);
}

TEST_CASE("a dense model's active params equal its total") {
  Model model = model_of(R"({"model_type":"llama","num_hidden_layers":1,
                             "tie_word_embeddings":true})",
                         {{"model.embed_tokens.weight", "BF16", {16, 4}},
                          {"model.layers.0.mlp.up_proj.weight", "BF16", {8, 4}}});
  ParamCount pc = count_params(model);
  CHECK(pc.total == 96);
  REQUIRE(pc.active);
  CHECK(*pc.active == 96);
  CHECK(pc.tied_embeddings);
  CHECK(pc.quant_method.empty());
}
