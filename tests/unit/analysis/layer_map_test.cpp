// The layer mapper on the corpus and on small hand-written headers. Expected numbers come from
// truth.json (published counts) or are worked out by hand in comments.
#include "mbuild/analysis/layer_map.hpp"
#include "mbuild/report/layer_checks.hpp"

#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mbuild/source/local_source.hpp"
#include "test_support.hpp"
#include "unit/analysis/layer_map_support.hpp"

using namespace mbuild;
using mbuild::test::corpus_model;
using mbuild::test::entries_of_class;
using mbuild::test::entry_named;
using mbuild::test::Mapped;
using mbuild::test::model_of;

TEST_CASE(
    "every corpus tensor lands in exactly one layer entry and the entries sum to the published "
    "total") {
  for (const auto& truth : test::truth()) {
    const std::string folder = truth["folder"];
    DYNAMIC_SECTION(folder) {
      Mapped m = corpus_model(folder);
      const LayerMap& map = m.map;
      REQUIRE(map.unit_of_tensor.size() == m.model.tensors.size());
      std::vector<int> seen(m.model.tensors.size(), 0);
      std::vector<int> part_seen(map.parts.size(), 0);
      std::vector<int> unit_seen(map.units.size(), 0);
      uint64_t sum = 0;
      for (const LayerEntry& e : map.entries) {
        CHECK(e.count == e.parts.size());
        for (size_t pi : e.parts) {
          ++part_seen[pi];
          const LayerPart& part = map.parts[pi];
          ++unit_seen[part.unit];
          CHECK(part.params == e.parameter_count);
          for (size_t ti : part.tensors) {
            ++seen[ti];
            CHECK(map.unit_of_tensor[ti] == part.unit);
          }
        }
        sum += e.count * e.parameter_count;
      }
      // Every tensor in one part, every part in one entry, every unit cut into parts.
      CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
      CHECK(std::all_of(part_seen.begin(), part_seen.end(), [](int n) { return n == 1; }));
      CHECK(std::all_of(unit_seen.begin(), unit_seen.end(), [](int n) { return n >= 1; }));
      CHECK(sum == truth["total_params"].get<uint64_t>());
      CHECK(map.total == truth["total_params"].get<uint64_t>());
      std::set<std::string> names;
      for (const LayerEntry& e : map.entries) {
        CHECK(names.insert(e.name).second);
        CHECK(e.layer_class != layer_class::unknown);
      }
    }
  }
}

TEST_CASE("Llama-3.3-70B maps to embedding, GQA attention, gated MLP, 161 norms and an lm_head") {
  Mapped m = corpus_model("meta-llama__Llama-3.3-70B-Instruct");
  REQUIRE(m.map.entries.size() == 5);
  const LayerEntry& emb = entry_named(m.map, "embedding");
  CHECK(emb.layer_class == "EmbeddingLayer");
  CHECK(emb.count == 1);
  CHECK(emb.parameter_count == 128256ULL * 8192);  // 1,050,673,152
  const LayerEntry& attn = entry_named(m.map, "attention");
  CHECK(attn.layer_class == "GroupedQueryAttentionLayer");
  CHECK(attn.count == 80);
  // q 8192·8192 + k, v 1024·8192 each + o 8192·8192 = 150,994,944 (the contract's figure)
  CHECK(attn.parameter_count == 150994944);
  CHECK(attn.specs["num_heads"] == 64);
  CHECK(attn.specs["num_kv_heads"] == 8);
  CHECK(attn.specs["head_dim"] == 128);
  const LayerEntry& mlp = entry_named(m.map, "mlp");
  CHECK(mlp.layer_class == "GatedMLPLayer");
  CHECK(mlp.parameter_count == 3ULL * 8192 * 28672);  // 704,643,072
  CHECK(mlp.specs["intermediate_size"] == 28672);
  const LayerEntry& norm = entry_named(m.map, "norm");
  CHECK(norm.count == 2 * 80 + 1);  // input + post-attention per layer, and the final norm
  CHECK(norm.parameter_count == 8192);
  const LayerEntry& head = entry_named(m.map, "lm_head");
  CHECK(head.layer_class == "OutputHeadLayer");
  CHECK(head.parameter_count == 128256ULL * 8192);
  CHECK(layer_findings(m.map, &*m.model.config).empty());
}

TEST_CASE(
    "DeepSeek-V2-Lite has MLA attention, one dense layer and 26 MoE layers with 2 shared experts") {
  Mapped m = corpus_model("deepseek-ai__DeepSeek-V2-Lite");
  const LayerEntry& attn = entry_named(m.map, "attention");
  CHECK(attn.layer_class == "MultiHeadLatentAttentionLayer");
  CHECK(attn.count == 27);
  CHECK(attn.specs["kv_lora_rank"] == 512);
  CHECK(attn.specs["q_lora_rank"] == 0);
  CHECK(attn.specs["qk_rope_head_dim"] == 64);   // kv_a_proj 576 rows = 512 + 64
  CHECK(attn.specs["qk_nope_head_dim"] == 128);  // q_proj 3072 rows = 16 · (128 + 64)
  CHECK(attn.specs["v_head_dim"] == 128);        // kv_b_proj 4096 rows = 16 · (128 + 128)
  // q 3072·2048 + kv_a 576·2048 + kv_a_norm 512 + kv_b 4096·512 + o 2048·2048
  CHECK(attn.parameter_count == 6291456ULL + 1179648 + 512 + 2097152 + 4194304);
  const LayerEntry& dense = entry_named(m.map, "mlp");
  CHECK(dense.count == 1);
  CHECK(dense.specs["layer_idx"] == 0);
  CHECK(dense.specs["intermediate_size"] == 10944);
  const LayerEntry& moe = entry_named(m.map, "moe");
  CHECK(moe.layer_class == "MoELayer");
  CHECK(moe.count == 26);
  CHECK(moe.specs["num_experts"] == 64);
  CHECK(moe.specs["intermediate_size"] == 1408);
  CHECK(moe.specs["num_shared_experts"] == 2);  // shared 2816 = 2 · 1408
  CHECK(moe.specs["top_k"] == 6);
  CHECK(moe.specs["num_projections"] == 3);
  // 64 experts · 3 · 1408 · 2048 + shared 3 · 2816 · 2048 + gate 64 · 2048
  CHECK(moe.parameter_count == 64ULL * 3 * 1408 * 2048 + 3ULL * 2816 * 2048 + 64ULL * 2048);
  CHECK(layer_findings(m.map, &*m.model.config).empty());
}

TEST_CASE(
    "Qwen3-Next maps gated delta-net layers, full attention, MoE with a gated shared expert and "
    "MTP") {
  Mapped m = corpus_model("Qwen__Qwen3-Next-80B-A3B-Thinking");
  const LayerEntry& gdn = entry_named(m.map, "linear_attention");
  CHECK(gdn.layer_class == "GatedDeltaNetLayer");
  CHECK(gdn.count == 36);
  CHECK(gdn.specs["num_key_heads"] == 16);  // conv 8192 = 2·16·128 + 32·128
  CHECK(gdn.specs["num_value_heads"] == 32);
  CHECK(gdn.specs["key_head_dim"] == 128);
  CHECK(gdn.specs["value_head_dim"] == 128);
  CHECK(gdn.specs["conv_kernel"] == 4);
  // qkvz 12288·2048 + ba 64·2048 + conv 8192·4 + A_log 32 + dt_bias 32 + norm 128 + out 2048·4096
  CHECK(gdn.parameter_count ==
        12288ULL * 2048 + 64ULL * 2048 + 8192ULL * 4 + 32 + 32 + 128 + 2048ULL * 4096);
  // The query carries a per-head output gate: no estimator class has it.
  const LayerEntry& attn = entry_named(m.map, "attention");
  CHECK(attn.layer_class == "GatedAttentionLayer");
  CHECK(attn.count == 12);
  CHECK(attn.specs["num_heads"] == 16);  // q_proj 8192 rows = 16 heads · 256 · 2 (gated q)
  CHECK(attn.specs["num_kv_heads"] == 2);
  // q 8192·2048 + k, v 2·512·2048 + o 2048·4096 (q/k norms are entries of their own)
  CHECK(attn.parameter_count == 8192ULL * 2048 + 2 * 512ULL * 2048 + 2048ULL * 4096);
  // The shared expert is as wide as a routed one (512): the MoE class's one shared expert.
  // Its sigmoid gate (Linear 2048 -> 1) is not the class's: an entry of its own.
  const LayerEntry& moe = entry_named(m.map, "moe");
  CHECK(moe.layer_class == "MoELayer");
  CHECK(moe.count == 48);
  CHECK(moe.specs["num_experts"] == 512);
  CHECK(moe.specs["num_shared_experts"] == 1);
  CHECK(moe.specs["has_bias"] == false);
  // router 2048·512 + (512 + 1) experts · 3 · 2048 · 512
  CHECK(moe.parameter_count == 2048ULL * 512 + 513ULL * 3 * 2048 * 512);
  const LayerEntry& gate = entry_named(m.map, "shared_expert_gate");
  CHECK(gate.layer_class == "SharedExpertGateLayer");
  CHECK(gate.count == 48);
  CHECK(gate.parameter_count == 2048);
  const LayerEntry& mtp = entry_named(m.map, "mtp");
  CHECK(mtp.layer_class == "MultiTokenPredictionLayer");
  CHECK(mtp.count == 1);
  CHECK(entry_named(m.map, "qk_norm").specs["hidden_size"] == 256);
}

TEST_CASE("GPT-2's attention-mask buffers are an entry of their own") {
  Mapped m = corpus_model("openai-community__gpt2");
  const LayerEntry& buf = entry_named(m.map, "buffer");
  CHECK(buf.layer_class == "Buffer");
  CHECK(buf.count == 12);
  CHECK(buf.parameter_count == 1024ULL * 1024);
  // c_attn 2304 = 3 · 768: 12 heads, MHA, biases on all four projections: the sliding class
  // with no window and has_bias covers them exactly (2·h·nh·d + 2·h·nkv·d + nh·d + 2·nkv·d + h).
  const LayerEntry& attn = entry_named(m.map, "attention");
  CHECK(attn.layer_class == "SlidingWindowAttentionLayer");
  CHECK(attn.specs["num_query_heads"] == 12);
  CHECK(attn.specs["sliding_window"].is_null());
  CHECK(attn.specs["has_bias"] == true);
  CHECK(attn.parameter_count == 768ULL * 2304 + 2304 + 768 * 768 + 768);
  // MLPLayer has no biases: c_fc's 3072 and c_proj's 768 are an entry of their own.
  const LayerEntry& mlp = entry_named(m.map, "mlp");
  CHECK(mlp.layer_class == "MLPLayer");
  CHECK(mlp.parameter_count == 2ULL * 768 * 3072);
  const LayerEntry& bias = entry_named(m.map, "mlp_bias");
  CHECK(bias.layer_class == "MLPBiasLayer");
  CHECK(bias.parameter_count == 3072 + 768);
  CHECK(entry_named(m.map, "position_embedding").parameter_count == 1024ULL * 768);
}

TEST_CASE(
    "flan-T5 has encoder and decoder stacks, cross-attention and a relative-bias first block") {
  Mapped m = corpus_model("google__flan-t5-large");
  const LayerEntry& cross = entry_named(m.map, "decoder_cross_attention");
  CHECK(cross.layer_class == "CrossAttentionLayer");
  CHECK(cross.count == 24);
  CHECK(cross.parameter_count == 4ULL * 1024 * 1024);
  // Block 0 self-attention holds the relative bias table (32 buckets · 16 heads = 512): an
  // entry of its own, and every self-attention is then the same 4·h² module.
  const LayerEntry& attn = entry_named(m.map, "encoder_attention");
  CHECK(attn.layer_class == "AttentionLayer");
  CHECK(attn.count == 24);
  CHECK(attn.parameter_count == 4ULL * 1024 * 1024);
  const LayerEntry& bias = entry_named(m.map, "encoder_relative_position_bias");
  CHECK(bias.layer_class == "RelativePositionBiasLayer");
  CHECK(bias.count == 1);
  CHECK(bias.parameter_count == 512);
  CHECK(entry_named(m.map, "encoder_mlp").layer_class == "GatedMLPLayer");
}

TEST_CASE("mamba-130m maps its mixer with specs read off the shapes") {
  Mapped m = corpus_model("state-spaces__mamba-130m-hf");
  const LayerEntry& mixer = entry_named(m.map, "mamba");
  CHECK(mixer.layer_class == "MambaMixerLayer");
  CHECK(mixer.count == 24);
  CHECK(mixer.specs["d_inner"] == 1536);  // A_log [1536, 16]
  CHECK(mixer.specs["d_state"] == 16);
  CHECK(mixer.specs["dt_rank"] == 48);  // dt_proj [1536, 48]
  CHECK(mixer.specs["d_conv"] == 4);
  CHECK(layer_findings(m.map, &*m.model.config).empty());
}

TEST_CASE("Mixtral's numbered experts and AWQ-packed Mistral read the same dimensions") {
  Mapped mix = corpus_model("mistralai__Mixtral-8x7B-v0.1");
  const LayerEntry& moe = entry_named(mix.map, "moe");
  CHECK(moe.specs["num_experts"] == 8);
  CHECK(moe.specs["intermediate_size"] == 14336);
  CHECK(moe.specs["top_k"] == 2);
  Mapped awq = corpus_model("TheBloke__Mistral-7B-Instruct-v0.1-AWQ");
  const LayerEntry& attn = entry_named(awq.map, "attention_sliding");
  CHECK(attn.layer_class == "SlidingWindowAttentionLayer");
  CHECK(attn.specs["num_query_heads"] == 32);
  CHECK(attn.specs["num_kv_heads"] == 8);
  CHECK(attn.specs["sliding_window"] == 4096);
  CHECK(entry_named(awq.map, "mlp").specs["intermediate_size"] == 14336);
  CHECK(layer_findings(awq.map, &*awq.model.config).empty());
}

TEST_CASE(
    "the MLX gemma-3 checkpoint keeps its vision tower and projector apart from the text layers") {
  Mapped m = corpus_model("mlx-community__gemma-3-4b-pt-4bit");
  CHECK(entry_named(m.map, "vision_layer").count == 27);
  CHECK(entry_named(m.map, "vision_layer").layer_class == "VisionTowerLayer");
  CHECK(entry_named(m.map, "multimodal_projector").count == 1);
  CHECK(entry_named(m.map, "attention_sliding").count == 34 - 5);  // every 6th layer is global
  CHECK(entry_named(m.map, "attention").count == 5);
  CHECK(entry_named(m.map, "mlp").specs["intermediate_size"] == 10240);
}

TEST_CASE("a k_proj narrower than config.json's kv heads is a finding, not a silent pick") {
  // hidden 8, 4 heads of dim 2, config says 2 kv heads but k_proj has 1 head (2 rows).
  const std::string config = R"({"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 16,
    "vocab_size": 10})";
  Mapped m = model_of(config, {{"model.embed_tokens.weight", "F32", {10, 8}},
                               {"model.layers.0.self_attn.q_proj.weight", "F32", {8, 8}},
                               {"model.layers.0.self_attn.k_proj.weight", "F32", {2, 8}},
                               {"model.layers.0.self_attn.v_proj.weight", "F32", {2, 8}},
                               {"model.layers.0.self_attn.o_proj.weight", "F32", {8, 8}}});
  const std::vector<Finding> findings = layer_findings(m.map, &*m.model.config);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].where == "layer 0 attention");
  CHECK(findings[0].text.find("num_kv_heads: the shapes say 1") != std::string::npos);
  CHECK(entry_named(m.map, "attention").specs["num_kv_heads"] == 1);
}

TEST_CASE(
    "a sigmoid router's correction bias is split from its MoE layer, which keeps the router") {
  // DeepSeek-V3 style: 4 experts of intermediate 2, hidden 4, top-2, group-limited.
  const std::string config = R"({"model_type": "deepseek_v3", "hidden_size": 4,
    "num_hidden_layers": 1, "num_attention_heads": 2, "n_routed_experts": 4,
    "num_experts_per_tok": 2, "moe_intermediate_size": 2, "scoring_func": "sigmoid",
    "topk_method": "noaux_tc", "n_group": 2, "topk_group": 1, "vocab_size": 6})";
  std::vector<test::TensorSpec> t = {
      {"model.layers.0.mlp.gate.weight", "F32", {4, 4}},
      {"model.layers.0.mlp.gate.e_score_correction_bias", "F32", {4}}};
  for (int e = 0; e < 4; ++e) {
    for (const char* p : {"gate_proj", "up_proj"}) {
      t.push_back(
          {"model.layers.0.mlp.experts." + std::to_string(e) + "." + p + ".weight", "F32", {2, 4}});
    }
    t.push_back(
        {"model.layers.0.mlp.experts." + std::to_string(e) + ".down_proj.weight", "F32", {4, 2}});
  }
  Mapped m = model_of(config, t);
  // MoELayer counts its router (h·E) inside: gate 4·4 + 4 experts · 3 projections · 2·4.
  const LayerEntry& moe = entry_named(m.map, "moe");
  CHECK(moe.layer_class == "MoELayer");
  CHECK(moe.parameter_count == 4 * 4 + 4 * 3 * 8);
  CHECK(moe.specs["intermediate_size"] == 2);
  CHECK(moe.specs["has_bias"] == false);
  const LayerEntry& bias = entry_named(m.map, "router_bias");
  CHECK(bias.layer_class == "MoERouterBiasLayer");
  CHECK(bias.parameter_count == 4);  // e_score_correction_bias [4]
  CHECK(bias.specs["scoring_func"] == "sigmoid");
  CHECK(m.map.total == 16 + 96 + 4);
}

TEST_CASE(
    "gpt-oss layers: attention with four biases is the sliding class exactly, sinks and nothing "
    "else are split off, the MoE with biases is exact") {
  // gpt-oss-20b's per-layer shapes (config.json: hidden 2880, 64 heads of 64, 8 kv heads,
  // 32 experts of 2880, biases on q/k/v/o, the router and the experts), two layers: sliding,
  // then full.
  const std::string config = R"({"model_type": "gpt_oss", "hidden_size": 2880,
    "num_hidden_layers": 2, "num_attention_heads": 64, "num_key_value_heads": 8,
    "head_dim": 64, "num_local_experts": 32, "num_experts_per_tok": 4,
    "intermediate_size": 2880, "sliding_window": 128,
    "layer_types": ["sliding_attention", "full_attention"], "vocab_size": 201088})";
  std::vector<test::TensorSpec> t;
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "self_attn.q_proj.weight", "BF16", {4096, 2880}});
    t.push_back({p + "self_attn.q_proj.bias", "BF16", {4096}});
    t.push_back({p + "self_attn.k_proj.weight", "BF16", {512, 2880}});
    t.push_back({p + "self_attn.k_proj.bias", "BF16", {512}});
    t.push_back({p + "self_attn.v_proj.weight", "BF16", {512, 2880}});
    t.push_back({p + "self_attn.v_proj.bias", "BF16", {512}});
    t.push_back({p + "self_attn.o_proj.weight", "BF16", {2880, 4096}});
    t.push_back({p + "self_attn.o_proj.bias", "BF16", {2880}});
    t.push_back({p + "self_attn.sinks", "BF16", {64}});
    t.push_back({p + "mlp.router.weight", "BF16", {32, 2880}});
    t.push_back({p + "mlp.router.bias", "BF16", {32}});
    t.push_back({p + "mlp.experts.gate_up_proj", "BF16", {32, 2880, 5760}});
    t.push_back({p + "mlp.experts.gate_up_proj_bias", "BF16", {32, 5760}});
    t.push_back({p + "mlp.experts.down_proj", "BF16", {32, 2880, 2880}});
    t.push_back({p + "mlp.experts.down_proj_bias", "BF16", {32, 2880}});
  }
  Mapped m = model_of(config, t);
  // SlidingWindowAttentionLayer with has_bias: 2·h·nh·d + 2·h·nkv·d + nh·d + 2·nkv·d + h
  //   = 2·2880·4096 + 2·2880·512 + 4096 + 1024 + 2880 = 23,592,960 + 2,949,120 + 8,000
  const uint64_t attention = 26550080;
  const LayerEntry& sliding = entry_named(m.map, "attention_sliding");
  CHECK(sliding.layer_class == "SlidingWindowAttentionLayer");
  CHECK(sliding.specs["sliding_window"] == 128);
  CHECK(sliding.specs["num_sinks"] == 64);
  CHECK(sliding.specs["has_bias"] == true);
  CHECK(sliding.parameter_count == attention);
  // The full-attention layer: the same class with no window.
  const LayerEntry& full = entry_named(m.map, "attention");
  CHECK(full.layer_class == "SlidingWindowAttentionLayer");
  CHECK(full.specs["sliding_window"].is_null());
  CHECK(full.parameter_count == attention);
  // The class takes num_sinks but counts nothing for them: 64 sink logits per layer apart.
  const LayerEntry& sinks = entry_named(m.map, "attention_sinks");
  CHECK(sinks.layer_class == "AttentionSinksLayer");
  CHECK(sinks.count == 2);
  CHECK(sinks.parameter_count == 64);
  // MoELayer with has_bias, 3 projections: h·E + E + E·(3·h·I + 2·I + h)
  //   = 92,160 + 32 + 32 · (24,883,200 + 5,760 + 2,880) = 796,631,072
  const LayerEntry& moe = entry_named(m.map, "moe");
  CHECK(moe.layer_class == "MoELayer");
  CHECK(moe.count == 2);
  CHECK(moe.specs["num_experts"] == 32);  // the first dimension of the fused tensors
  CHECK(moe.specs["intermediate_size"] == 2880);
  CHECK(moe.specs["num_projections"] == 3);
  CHECK(moe.specs["has_bias"] == true);
  CHECK(moe.parameter_count == 796631072ULL);
  CHECK(m.map.total == 2 * (attention + 64 + 796631072ULL));
}

TEST_CASE("RWKV blocks map to time-mix and channel-mix classes") {
  const std::string config = R"({"model_type": "rwkv", "hidden_size": 4, "num_hidden_layers": 1,
    "attention_hidden_size": 4, "intermediate_size": 8, "vocab_size": 6})";
  Mapped m = model_of(config, {{"rwkv.embeddings.weight", "F32", {6, 4}},
                               {"rwkv.blocks.0.ln1.weight", "F32", {4}},
                               {"rwkv.blocks.0.attention.time_decay", "F32", {4}},
                               {"rwkv.blocks.0.attention.time_first", "F32", {4}},
                               {"rwkv.blocks.0.attention.time_mix_key", "F32", {1, 1, 4}},
                               {"rwkv.blocks.0.attention.key.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.value.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.receptance.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.output.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.feed_forward.time_mix_key", "F32", {1, 1, 4}},
                               {"rwkv.blocks.0.feed_forward.key.weight", "F32", {8, 4}},
                               {"rwkv.blocks.0.feed_forward.receptance.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.feed_forward.value.weight", "F32", {4, 8}},
                               {"head.weight", "F32", {6, 4}}});
  CHECK(entry_named(m.map, "time_mix").layer_class == "RWKVTimeMixLayer");
  CHECK(entry_named(m.map, "time_mix").parameter_count == 4 + 4 + 4 + 4 * 16);
  CHECK(entry_named(m.map, "channel_mix").layer_class == "RWKVChannelMixLayer");
  CHECK(entry_named(m.map, "channel_mix").specs["intermediate_size"] == 8);
  CHECK(m.map.total == 24 + 4 + 76 + 4 + 32 + 16 + 32 + 24);
}

TEST_CASE("module_of strips parameter and quantization suffixes") {
  CHECK(module_of("model.layers.0.mlp.down_proj.weight") == "model.layers.0.mlp.down_proj");
  CHECK(module_of("model.layers.0.mlp.down_proj.weight.quant_state.bitsandbytes__nf4") ==
        "model.layers.0.mlp.down_proj");
  CHECK(module_of("model.layers.0.mlp.down_proj.qzeros") == "model.layers.0.mlp.down_proj");
  CHECK(module_of("model.layers.0.linear_attn.A_log") == "model.layers.0.linear_attn.A_log");
}

TEST_CASE("an RWKV-6 attention block's gate stays in its time mix, never an MoE") {
  // RWKV/v6-Finch-*-HF names: attention.gate is the time mix's output gate, not a router.
  const std::string config = R"({"model_type": "rwkv6", "hidden_size": 4, "num_hidden_layers": 1,
    "attention_hidden_size": 4, "intermediate_size": 8, "vocab_size": 6})";
  Mapped m = model_of(config, {{"rwkv.embeddings.weight", "F32", {6, 4}},
                               {"rwkv.blocks.0.attention.time_decay", "F32", {4}},
                               {"rwkv.blocks.0.attention.key.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.value.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.receptance.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.gate.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.attention.output.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.feed_forward.key.weight", "F32", {8, 4}},
                               {"rwkv.blocks.0.feed_forward.receptance.weight", "F32", {4, 4}},
                               {"rwkv.blocks.0.feed_forward.value.weight", "F32", {4, 8}}});
  const LayerEntry& time_mix = entry_named(m.map, "time_mix");
  CHECK(time_mix.layer_class == "RWKVTimeMixLayer");
  CHECK(time_mix.parameter_count == 4 + 5 * 16);  // time_decay + key/value/receptance/gate/output
  for (const LayerEntry& e : m.map.entries) {
    CHECK(e.layer_class != "MoELayer");
    CHECK(e.layer_class != "CustomMoELayer");
  }
}
