#!/usr/bin/env python3
"""HuggingFaceTB/SmolLM3-3B as a header-only replica.

config.json: the published architecture fields (hidden 2048, 36 layers, 16 heads, 4 KV heads,
MLP 11008, vocab 128256, tied embeddings, NoPE every 4th layer: no_rope_layers 1 = RoPE,
0 = NoPE). Tensor names: transformers' SmolLM3 modules, which are Llama's; no lm_head (tied).
Two shards, as the repo has."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = 36

CONFIG = {
    "architectures": ["SmolLM3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": None,
    "eos_token_id": 128012,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 11008,
    "max_position_embeddings": 65536,
    "max_window_layers": 28,
    "mlp_bias": False,
    "model_type": "smollm3",
    "no_rope_layer_interval": 4,
    "no_rope_layers": [0 if (i + 1) % 4 == 0 else 1 for i in range(LAYERS)],
    "num_attention_heads": 16,
    "num_hidden_layers": LAYERS,
    "num_key_value_heads": 4,
    "pad_token_id": 128004,
    "pretraining_tp": 2,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 5000000.0,
    "sliding_window": None,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "use_cache": False,
    "use_sliding_window": False,
    "vocab_size": 128256,
}


def tensors(c):
    h, v, i_ = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    hd = h // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for n in range(c["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out += [(p + "input_layernorm.weight", "BF16", [h]),
                (p + "mlp.down_proj.weight", "BF16", [h, i_]),
                (p + "mlp.gate_proj.weight", "BF16", [i_, h]),
                (p + "mlp.up_proj.weight", "BF16", [i_, h]),
                (p + "post_attention_layernorm.weight", "BF16", [h]),
                (p + "self_attn.k_proj.weight", "BF16", [kv, h]),
                (p + "self_attn.o_proj.weight", "BF16", [h, h]),
                (p + "self_attn.q_proj.weight", "BF16", [h, h]),
                (p + "self_attn.v_proj.weight", "BF16", [kv, h])]
    out.append(("model.norm.weight", "BF16", [h]))
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "HuggingFaceTB__SmolLM3-3B")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=2)
