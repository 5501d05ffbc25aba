#!/usr/bin/env python3
"""LiquidAI/LFM2-1.2B as a header-only replica.

config.json: the published architecture fields (hidden 2048, 16 layers: gated short
convolutions, with grouped-query attention at layers 2, 5, 8, 10, 12 and 14; 32 heads and 8 KV
heads of 64, vocab 65536, tied embeddings, conv_L_cache 3 without bias, block_ff_dim 12288
auto-adjusted to 2/3, rounded up to a multiple of 256: 8192). Tensor names: transformers'
Lfm2 modules: model.layers.N.operator_norm, then .conv (in_proj [3h, h], a depthwise conv
[h, 1, L_cache], out_proj) or .self_attn (q/k/v_proj, out_proj, q_layernorm and k_layernorm
over head_dim), ffn_norm and .feed_forward (w1, w3, w2); model.embedding_norm is the final
norm; no lm_head (tied). BF16 throughout (torch_dtype)."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))
ATTENTION = [2, 5, 8, 10, 12, 14]

CONFIG = {
    "architectures": ["Lfm2ForCausalLM"],
    "block_auto_adjust_ff_dim": True,
    "block_dim": 2048,
    "block_ff_dim": 12288,
    "block_ffn_dim_multiplier": 1.0,
    "block_multiple_of": 256,
    "conv_L_cache": 3,
    "conv_bias": False,
    "conv_dim": 2048,
    "full_attn_idxs": ATTENTION,
    "hidden_size": 2048,
    "max_position_embeddings": 128000,
    "model_type": "lfm2",
    "norm_eps": 1e-05,
    "num_attention_heads": 32,
    "num_hidden_layers": 16,
    "num_key_value_heads": 8,
    "rope_theta": 1000000.0,
    "torch_dtype": "bfloat16",
    "vocab_size": 65536,
}


def ff_dim(c):
    ff = c["block_ff_dim"]
    if c["block_auto_adjust_ff_dim"]:
        ff = int(2 * ff / 3)
        if c["block_ffn_dim_multiplier"] is not None:
            ff = int(c["block_ffn_dim_multiplier"] * ff)
        m = c["block_multiple_of"]
        ff = m * ((ff + m - 1) // m)
    return ff


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = h // heads
    ff = ff_dim(c)
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for i in range(c["num_hidden_layers"]):
        kind = "full_attention" if i in c["full_attn_idxs"] else "conv"
        p = f"model.layers.{i}."
        if kind == "conv":
            out += [(p + "conv.conv.weight", "BF16", [h, 1, c["conv_L_cache"]]),
                    (p + "conv.in_proj.weight", "BF16", [3 * h, h]),
                    (p + "conv.out_proj.weight", "BF16", [h, h])]
        else:
            a = p + "self_attn."
            out += [(a + "k_layernorm.weight", "BF16", [hd]),
                    (a + "k_proj.weight", "BF16", [kv * hd, h]),
                    (a + "out_proj.weight", "BF16", [h, heads * hd]),
                    (a + "q_layernorm.weight", "BF16", [hd]),
                    (a + "q_proj.weight", "BF16", [heads * hd, h]),
                    (a + "v_proj.weight", "BF16", [kv * hd, h])]
        out += [(p + "feed_forward.w1.weight", "BF16", [ff, h]),
                (p + "feed_forward.w2.weight", "BF16", [h, ff]),
                (p + "feed_forward.w3.weight", "BF16", [ff, h]),
                (p + "ffn_norm.weight", "BF16", [h]),
                (p + "operator_norm.weight", "BF16", [h])]
    out.append(("model.embedding_norm.weight", "BF16", [h]))
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "LiquidAI__LFM2-1.2B")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=1)
