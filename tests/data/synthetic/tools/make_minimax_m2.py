#!/usr/bin/env python3
"""MiniMaxAI/MiniMax-M2.7 as a header-only replica (the MiniMax-M2 architecture).

config.json: the published one (as a public model report quotes it: 62 layers, hidden 3072,
48 query heads and 8 KV heads of 128, q/k RMSNorm over the full projection width, 256 experts
top-8 of width 1536, sigmoid router with a score-correction bias, untied head, block-FP8).
Tensor names, shapes and dtypes: the checkpoint's, as the same report lists them (96,103
tensors): FP8 E4M3 projections with F32 [out/128, in/128] weight_scale_inv, an F32 router and
bias, BF16 norms, embedding and lm_head. The config declares MTP modules (num_mtp_modules 3)
but the published checkpoint ships none.

Too large to commit (~14 MB of headers): the build writes it into the build tree,
    make_minimax_m2.py OUT_DIR
and the tests read it from there."""
import os
import sys

from replica import write_config, write_replica

LAYERS = 62

CONFIG = {
    "architectures": ["MiniMaxM2ForCausalLM"],
    "attn_type_list": [1] * LAYERS,
    "auto_map": {
        "AutoConfig": "configuration_minimax_m2.MiniMaxM2Config",
        "AutoModelForCausalLM": "modeling_minimax_m2.MiniMaxM2ForCausalLM",
    },
    "dtype": "bfloat16",
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 3072,
    "intermediate_size": 1536,
    "max_position_embeddings": 204800,
    "model_type": "minimax_m2",
    "mtp_transformer_layers": 1,
    "num_attention_heads": 48,
    "num_experts_per_tok": 8,
    "num_hidden_layers": LAYERS,
    "num_key_value_heads": 8,
    "num_local_experts": 256,
    "num_mtp_modules": 3,
    "qk_norm_type": "per_layer",
    "quantization_config": {
        "activation_scheme": "dynamic",
        "fmt": "float8_e4m3fn",
        "quant_method": "fp8",
        "weight_block_size": [128, 128],
        "modules_to_not_convert": ["gate", "e_score_correction_bias", "lm_head"],
    },
    "rms_norm_eps": 1e-06,
    "rope_theta": 5000000,
    "rotary_dim": 64,
    "scoring_func": "sigmoid",
    "shared_intermediate_size": 0,
    "tie_word_embeddings": False,
    "transformers_version": "4.46.1",
    "use_cache": True,
    "use_mtp": True,
    "use_qk_norm": True,
    "use_routing_bias": True,
    "vocab_size": 200064,
}


def fp8(name, out, inp):
    """A block-FP8 linear: the E4M3 weight and its F32 inverse scale per 128 x 128 block."""
    return [(name + ".weight", "F8_E4M3", [out, inp]),
            (name + ".weight_scale_inv", "F32", [-(-out // 128), -(-inp // 128)])]


def tensors(c):
    h, v, e = c["hidden_size"], c["vocab_size"], c["num_local_experts"]
    q = c["num_attention_heads"] * c["head_dim"]
    kv = c["num_key_value_heads"] * c["head_dim"]
    w = c["intermediate_size"]
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out.append((p + "block_sparse_moe.e_score_correction_bias", "F32", [e]))
        for j in range(e):
            x = f"{p}block_sparse_moe.experts.{j}."
            out += fp8(x + "w1", w, h) + fp8(x + "w2", h, w) + fp8(x + "w3", w, h)
        out += [(p + "block_sparse_moe.gate.weight", "F32", [e, h]),
                (p + "input_layernorm.weight", "BF16", [h]),
                (p + "post_attention_layernorm.weight", "BF16", [h]),
                (p + "self_attn.k_norm.weight", "BF16", [kv])]
        out += fp8(p + "self_attn.k_proj", kv, h) + fp8(p + "self_attn.o_proj", h, q)
        out.append((p + "self_attn.q_norm.weight", "BF16", [q]))
        out += fp8(p + "self_attn.q_proj", q, h) + fp8(p + "self_attn.v_proj", kv, h)
    out += [("model.norm.weight", "BF16", [h]), ("lm_head.weight", "BF16", [v, h])]
    return out


SYNTHETIC = """# Header-only test model: MiniMaxAI/MiniMax-M2.7 (generated)

Written by `tests/data/synthetic/tools/make_minimax_m2.py` at build time; not a copy of the real
headers. `config.json` is the published one; the 96,103 tensor names, shapes and dtypes are the
checkpoint's as a public model report of the repo lists them (FP8 E4M3 projections with F32
[out/128, in/128] `weight_scale_inv`, F32 router and `e_score_correction_bias`, BF16 norms,
embedding and lm_head). No MTP weights: the checkpoint ships none though config.json declares
`num_mtp_modules` 3.

Raw elements 228,703,644,928: the Hub's safetensors total (the same public report counts it
over all tensors). Parameters without the block scales 228,689,764,864: llama.cpp's
`model_n_params` for the GGUF conversions (public llama-bench logs).
"""


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_minimax_m2.py OUT_DIR")
    folder = os.path.join(sys.argv[1], "MiniMaxAI__MiniMax-M2.7")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=8)
    with open(os.path.join(folder, "SYNTHETIC.md"), "w") as f:
        f.write(SYNTHETIC)
