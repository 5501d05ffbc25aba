#!/usr/bin/env python3
"""zai-org/GLM-5.2 as a header-only replica, written into a folder given on the command line
(the build writes it into the build tree: its headers hold ~62,000 tensors, ~6 MB, too much to
keep in the repository).

    make_glm_moe_dsa.py OUT_DIR   ->   OUT_DIR/zai-org__GLM-5.2/

config.json: the published architecture fields of the repo (hidden 6144, 78 layers, 64 heads,
q/kv LoRA ranks 2048/512, nope/rope/v head dims 192/64/256, 256 routed experts of 2048, top-8,
one shared expert, layers 0-2 dense of 12288, vocab 154880, one MTP layer; the DSA indexer of
32 heads x 128, top-2048, runs on the "full" layers of indexer_types, 0, 1, 2 and every 4th
from 6, 21 of 78: the 57 "shared" layers reuse the previous full layer's top-k and ship no
indexer). Tensor names: transformers' GlmMoeDsa modules (DeepSeek-V3's MLA and MoE names,
self_attn.indexer.wq_b [32 x 128, 2048], .wk [128, 6144], .k_norm weight and bias [128],
.weights_proj [32, 6144]); the MTP layer 78 holds a full layer with its indexer, eh_proj, enorm,
hnorm and shared_head.norm (no embedding or head of its own). BF16, except the routers'
e_score_correction_bias (F32): the Hub lists BF16 753,329,921,024 + F32 19,456 = 76 x 256.
Shards with an index (their count is not the repo's)."""
import os
import sys

from replica import write_config, write_replica

LAYERS = 78
FULL = [i for i in range(LAYERS) if max(i - 3 + 1, 0) % 4 == 0]

CONFIG = {
    "architectures": ["GlmMoeDsaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "dtype": "bfloat16",
    "eos_token_id": [154820, 154827, 154829],
    "first_k_dense_replace": 3,
    "head_dim": 192,
    "hidden_act": "silu",
    "hidden_size": 6144,
    "index_head_dim": 128,
    "index_n_heads": 32,
    "index_share_for_mtp_iteration": True,
    "index_skip_topk_offset": 3,
    "index_topk": 2048,
    "index_topk_freq": 4,
    "indexer_rope_interleave": True,
    "indexer_types": ["full" if i in FULL else "shared" for i in range(LAYERS)],
    "intermediate_size": 12288,
    "kv_lora_rank": 512,
    "max_position_embeddings": 1048576,
    "mlp_layer_types": ["dense"] * 3 + ["sparse"] * (LAYERS - 3),
    "model_type": "glm_moe_dsa",
    "moe_intermediate_size": 2048,
    "moe_router_dtype": "float32",
    "n_group": 1,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "norm_topk_prob": True,
    "num_attention_heads": 64,
    "num_experts_per_tok": 8,
    "num_hidden_layers": LAYERS,
    "num_key_value_heads": 64,
    "num_nextn_predict_layers": 1,
    "q_lora_rank": 2048,
    "qk_head_dim": 256,
    "qk_nope_head_dim": 192,
    "qk_rope_head_dim": 64,
    "rms_norm_eps": 1e-05,
    "rope_interleave": True,
    "rope_parameters": {"rope_theta": 8000000, "rope_type": "default"},
    "routed_scaling_factor": 2.5,
    "scoring_func": "sigmoid",
    "tie_word_embeddings": False,
    "topk_group": 1,
    "topk_method": "noaux_tc",
    "v_head_dim": 256,
    "vocab_size": 154880,
}

SYNTHETIC = """# Header-only test model: zai-org/GLM-5.2

Written by `tests/data/synthetic/tools/make_glm_moe_dsa.py` into the build tree (the headers
hold 59,585 tensors); not a copy of the real headers. `config.json` holds the published
architecture fields of the repo (hidden 6144, 78 layers, MLA 64 heads, q/kv LoRA 2048/512,
nope/rope/v 192/64/256, 256 experts of 2048 top-8 + 1 shared, 3 dense layers of 12288, vocab
154880, DSA indexer 32 x 128 on the 21 `indexer_types` "full" layers and the MTP layer 78).
Tensor names: transformers' GlmMoeDsa modules; BF16, routers' score-correction biases F32.

Total 753,329,940,480 = BF16 753,329,921,024 + F32 19,456: the Hub's safetensors figures for the
repo (quoted with its API answer in public notes and model tables). The arithmetic is in
tests/unit/analysis/sparse_attention_test.cpp.
"""


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, ffn, eff = c["num_attention_heads"], c["intermediate_size"], c["moe_intermediate_size"]
    experts, q_rank, kv_rank = c["n_routed_experts"], c["q_lora_rank"], c["kv_lora_rank"]
    nope, rope, v_dim = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    ih, ihd = c["index_n_heads"], c["index_head_dim"]
    out = []

    def bf16(name, *shape):
        out.append((name, "BF16", list(shape)))

    def layer(n, mtp):
        p = f"model.layers.{n}."
        bf16(p + "input_layernorm.weight", h)
        bf16(p + "post_attention_layernorm.weight", h)
        a = p + "self_attn."
        bf16(a + "q_a_proj.weight", q_rank, h)
        bf16(a + "q_a_layernorm.weight", q_rank)
        bf16(a + "q_b_proj.weight", heads * (nope + rope), q_rank)
        bf16(a + "kv_a_proj_with_mqa.weight", kv_rank + rope, h)
        bf16(a + "kv_a_layernorm.weight", kv_rank)
        bf16(a + "kv_b_proj.weight", heads * (nope + v_dim), kv_rank)
        bf16(a + "o_proj.weight", h, heads * v_dim)
        if mtp or c["indexer_types"][n] == "full":
            bf16(a + "indexer.wq_b.weight", ih * ihd, q_rank)
            bf16(a + "indexer.wk.weight", ihd, h)
            bf16(a + "indexer.k_norm.weight", ihd)
            bf16(a + "indexer.k_norm.bias", ihd)
            bf16(a + "indexer.weights_proj.weight", ih, h)
        m = p + "mlp."
        if n < c["first_k_dense_replace"]:
            bf16(m + "gate_proj.weight", ffn, h)
            bf16(m + "up_proj.weight", ffn, h)
            bf16(m + "down_proj.weight", h, ffn)
        else:
            bf16(m + "gate.weight", experts, h)
            out.append((m + "gate.e_score_correction_bias", "F32", [experts]))
            for e in range(experts):
                bf16(f"{m}experts.{e}.gate_proj.weight", eff, h)
                bf16(f"{m}experts.{e}.up_proj.weight", eff, h)
                bf16(f"{m}experts.{e}.down_proj.weight", h, eff)
            bf16(m + "shared_experts.gate_proj.weight", eff, h)
            bf16(m + "shared_experts.up_proj.weight", eff, h)
            bf16(m + "shared_experts.down_proj.weight", h, eff)
        if mtp:
            bf16(p + "eh_proj.weight", h, 2 * h)
            bf16(p + "enorm.weight", h)
            bf16(p + "hnorm.weight", h)
            bf16(p + "shared_head.norm.weight", h)

    bf16("model.embed_tokens.weight", v, h)
    for n in range(c["num_hidden_layers"] + c["num_nextn_predict_layers"]):
        layer(n, n >= c["num_hidden_layers"])
    bf16("model.norm.weight", h)
    bf16("lm_head.weight", v, h)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_glm_moe_dsa.py OUT_DIR")
    folder = os.path.join(sys.argv[1], "zai-org__GLM-5.2")
    write_replica(folder, tensors(CONFIG), shards=83)
    with open(os.path.join(folder, "SYNTHETIC.md"), "w") as f:
        f.write(SYNTHETIC)
    write_config(folder, CONFIG)  # last: the build's output stamp
