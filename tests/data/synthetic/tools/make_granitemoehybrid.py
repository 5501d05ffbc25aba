#!/usr/bin/env python3
"""IBM Granite 4.0 (model_type granitemoehybrid) as header-only replicas: the hybrid MoE
granite-4.0-h-small and the dense granite-4.0-micro.

config.json: the published architecture fields (as quoted from the repos' config.json by public
projects; the muP multipliers, which change no count, are left out). Tensor names:
transformers' GraniteMoeHybrid modules: model.layers.N.input_layernorm, then either .mamba
(in_proj, conv1d with bias, A_log, D, dt_bias, a gated norm, out_proj) or .self_attn (q/k/v/o,
no bias) per layer_types, post_attention_layernorm, .block_sparse_moe (input_linear
[E, 2I, h] fusing gate and up, output_linear [E, h, I], router.layer [E, h]) when
num_local_experts > 0, and .shared_mlp (input_linear [2S, h], output_linear [h, S]) in every
layer; embeddings tied. BF16 throughout (torch_dtype)."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

H_SMALL = {
    "architectures": ["GraniteMoeHybridForCausalLM"],
    "model_type": "granitemoehybrid",
    "attention_bias": False,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 768,
    "layer_types": ["attention" if i % 10 == 5 else "mamba" for i in range(40)],
    "mamba_chunk_size": 256,
    "mamba_conv_bias": True,
    "mamba_d_conv": 4,
    "mamba_d_head": 64,
    "mamba_d_state": 128,
    "mamba_expand": 2,
    "mamba_n_groups": 1,
    "mamba_n_heads": 128,
    "mamba_proj_bias": False,
    "normalization_function": "rmsnorm",
    "num_attention_heads": 32,
    "num_experts_per_tok": 10,
    "num_hidden_layers": 40,
    "num_key_value_heads": 8,
    "num_local_experts": 72,
    "position_embedding_type": "nope",
    "rms_norm_eps": 1e-05,
    "shared_intermediate_size": 1536,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 100352,
}

MICRO = {
    "architectures": ["GraniteMoeHybridForCausalLM"],
    "model_type": "granitemoehybrid",
    "attention_bias": False,
    "hidden_act": "silu",
    "hidden_size": 2560,
    "intermediate_size": 8192,
    "layer_types": ["attention"] * 40,
    "mamba_chunk_size": 256,
    "mamba_conv_bias": True,
    "mamba_d_conv": 4,
    "mamba_d_head": 32,
    "mamba_d_state": 256,
    "mamba_expand": 2,
    "mamba_n_groups": 1,
    "mamba_n_heads": 128,
    "mamba_proj_bias": False,
    "normalization_function": "rmsnorm",
    "num_attention_heads": 40,
    "num_experts_per_tok": 0,
    "num_hidden_layers": 40,
    "num_key_value_heads": 8,
    "num_local_experts": 0,
    "position_embedding_type": "rope",
    "rms_norm_eps": 1e-05,
    "shared_intermediate_size": 8192,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 100352,
}


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = h // heads
    mh, mhd, g, n = c["mamba_n_heads"], c["mamba_d_head"], c["mamba_n_groups"], c["mamba_d_state"]
    inner = mh * mhd
    conv_dim = inner + 2 * g * n
    e, ei, si = c["num_local_experts"], c["intermediate_size"], c["shared_intermediate_size"]
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for i, kind in enumerate(c["layer_types"]):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", "BF16", [h]))
        if kind == "mamba":
            m = p + "mamba."
            out += [(m + "A_log", "BF16", [mh]), (m + "D", "BF16", [mh]),
                    (m + "conv1d.bias", "BF16", [conv_dim]),
                    (m + "conv1d.weight", "BF16", [conv_dim, 1, c["mamba_d_conv"]]),
                    (m + "dt_bias", "BF16", [mh]),
                    (m + "in_proj.weight", "BF16", [inner + conv_dim + mh, h]),
                    (m + "norm.weight", "BF16", [inner]),
                    (m + "out_proj.weight", "BF16", [h, inner])]
        else:
            a = p + "self_attn."
            out += [(a + "k_proj.weight", "BF16", [kv * hd, h]),
                    (a + "o_proj.weight", "BF16", [h, heads * hd]),
                    (a + "q_proj.weight", "BF16", [heads * hd, h]),
                    (a + "v_proj.weight", "BF16", [kv * hd, h])]
        out.append((p + "post_attention_layernorm.weight", "BF16", [h]))
        if e > 0:
            b = p + "block_sparse_moe."
            out += [(b + "input_linear.weight", "BF16", [e, 2 * ei, h]),
                    (b + "output_linear.weight", "BF16", [e, h, ei]),
                    (b + "router.layer.weight", "BF16", [e, h])]
        out += [(p + "shared_mlp.input_linear.weight", "BF16", [2 * si, h]),
                (p + "shared_mlp.output_linear.weight", "BF16", [h, si])]
    out.append(("model.norm.weight", "BF16", [h]))
    return out


if __name__ == "__main__":
    for name, config, shards in (("ibm-granite__granite-4.0-h-small", H_SMALL, 4),
                                 ("ibm-granite__granite-4.0-micro", MICRO, 2)):
        folder = os.path.join(HERE, "..", name)
        write_config(folder, config)
        write_replica(folder, tensors(config), shards=shards)
