#!/usr/bin/env python3
"""deepseek-ai/DeepSeek-V3.2-Exp as a header-only replica, written into a folder given on the
command line (the build writes it into the build tree: its headers hold ~92,000 tensors, ~10 MB,
too much to keep in the repository).

    make_deepseek_v32.py OUT_DIR   ->   OUT_DIR/deepseek-ai__DeepSeek-V3.2-Exp/

config.json: the published config of the repo (as transformers' deepseek_v32 folder quotes it:
hidden 7168, 61 layers, 128 heads, q/kv LoRA ranks 1536/512, nope/rope/v head dims 128/64/128,
256 routed experts of 2048, top-8, one shared expert, layers 0-2 dense of 18432, vocab 129280,
one MTP layer, FP8 blocks of 128x128 with UE8M0 scales, DSA indexer of 64 heads x 128, top-2048).
Tensor names: DeepSeek-V3's (as transformers' DeepseekV3 code loads the checkpoint) plus the
lightning indexer of every layer, MTP layer 61 included, as DeepSeek's inference code
(inference/model.py, `Indexer`) and transformers' deepseek_v32 name it:
self_attn.indexer.wq_b [64 x 128, 1536] and .wk [128, 7168] FP8 with weight_scale_inv,
.k_norm (LayerNorm: weight and bias [128]) and .weights_proj [64, 7168], BF16 ("weights_proj in
the checkpoint is stored in bf16"). FP8 projections carry F32 weight_scale_inv blocks; embeddings,
norms, routers and eh_proj are BF16; score-correction biases F32. Shards with an index."""
import os
import sys

from replica import write_config, write_replica

LAYERS = 61

CONFIG = {
    "architectures": ["DeepseekV32ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 1,
    "ep_size": 1,
    "first_k_dense_replace": 3,
    "hidden_act": "silu",
    "hidden_size": 7168,
    "index_head_dim": 128,
    "index_n_heads": 64,
    "index_topk": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 18432,
    "kv_lora_rank": 512,
    "max_position_embeddings": 163840,
    "model_type": "deepseek_v32",
    "moe_intermediate_size": 2048,
    "moe_layer_freq": 1,
    "n_group": 8,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "norm_topk_prob": True,
    "num_attention_heads": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": LAYERS,
    "num_key_value_heads": 128,
    "num_nextn_predict_layers": 1,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "quantization_config": {
        "activation_scheme": "dynamic",
        "fmt": "e4m3",
        "quant_method": "fp8",
        "scale_fmt": "ue8m0",
        "weight_block_size": [128, 128],
    },
    "rms_norm_eps": 1e-06,
    "rope_scaling": {
        "beta_fast": 32,
        "beta_slow": 1,
        "factor": 40,
        "mscale": 1.0,
        "mscale_all_dim": 1.0,
        "original_max_position_embeddings": 4096,
        "type": "yarn",
    },
    "rope_theta": 10000,
    "routed_scaling_factor": 2.5,
    "scoring_func": "sigmoid",
    "tie_word_embeddings": False,
    "topk_group": 4,
    "topk_method": "noaux_tc",
    "torch_dtype": "bfloat16",
    "transformers_version": "4.44.2",
    "use_cache": True,
    "v_head_dim": 128,
    "vocab_size": 129280,
}

SYNTHETIC = """# Header-only test model: deepseek-ai/DeepSeek-V3.2-Exp

Written by `tests/data/synthetic/tools/make_deepseek_v32.py` into the build tree (the headers
hold 92,425 tensors); not a copy of the real headers. `config.json` is the repo's published
config (as transformers' `models/deepseek_v32/deepseek_files/config.json` quotes it). Tensor
names: DeepSeek-V3's plus `self_attn.indexer.{wq_b,wk,k_norm,weights_proj}` in every layer, the
MTP layer 61 included; FP8 projections with F32 `weight_scale_inv` blocks.

Total 685,396,921,376: the Hub's safetensors total for the repo (public model tables), scale
blocks included; without the 41,591,584 scale elements, 685,355,329,792 parameters, the Hub's
total for deepseek-ai/DeepSeek-V3.2. The arithmetic is in
tests/unit/analysis/sparse_attention_test.cpp.
"""


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, ffn, eff = c["num_attention_heads"], c["intermediate_size"], c["moe_intermediate_size"]
    experts, q_rank, kv_rank = c["n_routed_experts"], c["q_lora_rank"], c["kv_lora_rank"]
    nope, rope, v_dim = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    ih, ihd = c["index_n_heads"], c["index_head_dim"]
    out = []

    def fp8(name, rows, cols):
        out.append((name + ".weight", "F8_E4M3", [rows, cols]))
        out.append((name + ".weight_scale_inv", "F32", [-(-rows // 128), -(-cols // 128)]))

    def layer(n, mtp):
        p = f"model.layers.{n}."
        out.append((p + "input_layernorm.weight", "BF16", [h]))
        out.append((p + "post_attention_layernorm.weight", "BF16", [h]))
        a = p + "self_attn."
        fp8(a + "q_a_proj", q_rank, h)
        out.append((a + "q_a_layernorm.weight", "BF16", [q_rank]))
        fp8(a + "q_b_proj", heads * (nope + rope), q_rank)
        fp8(a + "kv_a_proj_with_mqa", kv_rank + rope, h)
        out.append((a + "kv_a_layernorm.weight", "BF16", [kv_rank]))
        fp8(a + "kv_b_proj", heads * (nope + v_dim), kv_rank)
        fp8(a + "o_proj", h, heads * v_dim)
        fp8(a + "indexer.wq_b", ih * ihd, q_rank)
        fp8(a + "indexer.wk", ihd, h)
        out.append((a + "indexer.k_norm.weight", "BF16", [ihd]))
        out.append((a + "indexer.k_norm.bias", "BF16", [ihd]))
        out.append((a + "indexer.weights_proj.weight", "BF16", [ih, h]))
        m = p + "mlp."
        if n < c["first_k_dense_replace"]:
            fp8(m + "gate_proj", ffn, h)
            fp8(m + "up_proj", ffn, h)
            fp8(m + "down_proj", h, ffn)
        else:
            out.append((m + "gate.weight", "BF16", [experts, h]))
            out.append((m + "gate.e_score_correction_bias", "F32", [experts]))
            for e in range(experts):
                fp8(f"{m}experts.{e}.gate_proj", eff, h)
                fp8(f"{m}experts.{e}.up_proj", eff, h)
                fp8(f"{m}experts.{e}.down_proj", h, eff)
            fp8(m + "shared_experts.gate_proj", eff, h)
            fp8(m + "shared_experts.up_proj", eff, h)
            fp8(m + "shared_experts.down_proj", h, eff)
        if mtp:
            out.append((p + "embed_tokens.weight", "BF16", [v, h]))
            out.append((p + "enorm.weight", "BF16", [h]))
            out.append((p + "hnorm.weight", "BF16", [h]))
            out.append((p + "eh_proj.weight", "BF16", [h, 2 * h]))
            out.append((p + "shared_head.norm.weight", "BF16", [h]))
            out.append((p + "shared_head.head.weight", "BF16", [v, h]))

    out.append(("model.embed_tokens.weight", "BF16", [v, h]))
    for n in range(c["num_hidden_layers"] + c["num_nextn_predict_layers"]):
        layer(n, n >= c["num_hidden_layers"])
    out.append(("model.norm.weight", "BF16", [h]))
    out.append(("lm_head.weight", "BF16", [v, h]))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_deepseek_v32.py OUT_DIR")
    folder = os.path.join(sys.argv[1], "deepseek-ai__DeepSeek-V3.2-Exp")
    write_replica(folder, tensors(CONFIG), shards=163)
    with open(os.path.join(folder, "SYNTHETIC.md"), "w") as f:
        f.write(SYNTHETIC)
    write_config(folder, CONFIG)  # last: the build's output stamp
