#!/usr/bin/env python3
"""tiiuae/Falcon-H1-0.5B-Instruct as a header-only replica.

config.json: the published architecture fields (the repo's config.json as quoted by public
projects: hidden 1024, 36 layers, 8 heads and 2 KV heads of 64, MLP 2048, vocab 32784, untied
head, Mamba-2 of 24 heads x 64 with state 128, one group, conv kernel 4, no gated RMSNorm in
the mixer); mamba_d_ssm 1536 = 24 x 64, as the Mamba-2 state shapes of the checkpoint show
(conv 1536 + 2 x 128 = 1792 channels). Tensor names: transformers' FalconH1 modules; every
layer holds attention (self_attn q/k/v/o) and a Mamba-2 mixer (mamba: in_proj, conv1d with
bias, A_log, D, dt_bias, out_proj) side by side, then a gated MLP (feed_forward gate/up/down);
input_layernorm and pre_ff_layernorm per layer, final_layernorm, lm_head. BF16 throughout
(torch_dtype)."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["FalconH1ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attention_in_multiplier": 1.0,
    "attention_out_multiplier": 0.9375,
    "attn_layer_indices": None,
    "embedding_multiplier": 5.656854249492381,
    "head_dim": 64,
    "hidden_act": "silu",
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 2048,
    "key_multiplier": 0.39062499999999994,
    "lm_head_multiplier": 0.0390625,
    "mamba_chunk_size": 128,
    "mamba_conv_bias": True,
    "mamba_d_conv": 4,
    "mamba_d_head": 64,
    "mamba_d_ssm": 1536,
    "mamba_d_state": 128,
    "mamba_expand": 2,
    "mamba_n_groups": 1,
    "mamba_n_heads": 24,
    "mamba_norm_before_gate": False,
    "mamba_proj_bias": False,
    "mamba_rms_norm": False,
    "mamba_use_mlp": True,
    "max_position_embeddings": 16384,
    "mlp_bias": False,
    "mlp_multipliers": [0.8838834764831844, 0.5859375],
    "model_type": "falcon_h1",
    "num_attention_heads": 8,
    "num_hidden_layers": 36,
    "num_key_value_heads": 2,
    "projectors_bias": False,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 100000000000.0,
    "ssm_in_multiplier": 1.25,
    "ssm_multipliers": [0.3535533905932738, 0.25, 0.3535533905932738, 0.5, 0.3535533905932738],
    "ssm_out_multiplier": 0.23570226039551587,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 32784,
}


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, kv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    mh, g, n = c["mamba_n_heads"], c["mamba_n_groups"], c["mamba_d_state"]
    inner = c["mamba_d_ssm"]
    conv_dim = inner + 2 * g * n
    i_ = c["intermediate_size"]
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        m = p + "mamba."
        a = p + "self_attn."
        f = p + "feed_forward."
        out += [(f + "down_proj.weight", "BF16", [h, i_]),
                (f + "gate_proj.weight", "BF16", [i_, h]),
                (f + "up_proj.weight", "BF16", [i_, h]),
                (p + "input_layernorm.weight", "BF16", [h]),
                (m + "A_log", "BF16", [mh]), (m + "D", "BF16", [mh]),
                (m + "conv1d.bias", "BF16", [conv_dim]),
                (m + "conv1d.weight", "BF16", [conv_dim, 1, c["mamba_d_conv"]]),
                (m + "dt_bias", "BF16", [mh]),
                (m + "in_proj.weight", "BF16", [inner + conv_dim + mh, h]),
                (m + "out_proj.weight", "BF16", [h, inner]),
                (p + "pre_ff_layernorm.weight", "BF16", [h]),
                (a + "k_proj.weight", "BF16", [kv * hd, h]),
                (a + "o_proj.weight", "BF16", [h, heads * hd]),
                (a + "q_proj.weight", "BF16", [heads * hd, h]),
                (a + "v_proj.weight", "BF16", [kv * hd, h])]
    out += [("model.final_layernorm.weight", "BF16", [h]), ("lm_head.weight", "BF16", [v, h])]
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "tiiuae__Falcon-H1-0.5B-Instruct")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=1)
