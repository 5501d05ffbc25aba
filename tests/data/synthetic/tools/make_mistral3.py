#!/usr/bin/env python3
"""mistralai/Mistral-Small-3.1-24B-Instruct-2503 as a header-only replica.

config.json: the published one (Mistral3ForConditionalGeneration, transformers 4.50; public
test fixtures quote it): a Mistral text model under text_config (hidden 5120, 40 layers, 32
heads and 8 KV heads of 128, MLP 32768, vocab 131072, untied), a Pixtral vision encoder under
vision_config (hidden 1024, 24 layers, 16 heads of 64, MLP 4096, patch 14) and Mistral 3's
projector (spatial_merge_size 2, no bias). Tensor names: the checkpoint's (transformers 4.50
layout: language_model.model.*, language_model.lm_head, vision_tower.*, multi_modal_projector.*
with patch_merger.merging_layer, norm, linear_1, linear_2), BF16; shapes from those dims."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["Mistral3ForConditionalGeneration"],
    "image_token_index": 10,
    "model_type": "mistral3",
    "multimodal_projector_bias": False,
    "projector_hidden_act": "gelu",
    "spatial_merge_size": 2,
    "text_config": {
        "attention_dropout": 0.0,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 5120,
        "initializer_range": 0.02,
        "intermediate_size": 32768,
        "max_position_embeddings": 131072,
        "model_type": "mistral",
        "num_attention_heads": 32,
        "num_hidden_layers": 40,
        "num_key_value_heads": 8,
        "rms_norm_eps": 1e-05,
        "rope_theta": 1000000000.0,
        "sliding_window": None,
        "use_cache": True,
        "vocab_size": 131072,
    },
    "torch_dtype": "bfloat16",
    "transformers_version": "4.50.0.dev0",
    "vision_config": {
        "attention_dropout": 0.0,
        "head_dim": 64,
        "hidden_act": "silu",
        "hidden_size": 1024,
        "image_size": 1540,
        "initializer_range": 0.02,
        "intermediate_size": 4096,
        "model_type": "pixtral",
        "num_attention_heads": 16,
        "num_channels": 3,
        "num_hidden_layers": 24,
        "patch_size": 14,
        "rope_theta": 10000.0,
    },
    "vision_feature_layer": -1,
}


def tensors(c):
    t, v = c["text_config"], c["vision_config"]
    h, vocab, inter = t["hidden_size"], t["vocab_size"], t["intermediate_size"]
    q, kv = t["num_attention_heads"] * t["head_dim"], t["num_key_value_heads"] * t["head_dim"]
    vh, vi, patch = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    merge = c["spatial_merge_size"]
    out = [("language_model.lm_head.weight", "BF16", [vocab, h]),
           ("language_model.model.embed_tokens.weight", "BF16", [vocab, h])]
    for n in range(t["num_hidden_layers"]):
        p = f"language_model.model.layers.{n}."
        out += [(p + "input_layernorm.weight", "BF16", [h]),
                (p + "mlp.down_proj.weight", "BF16", [h, inter]),
                (p + "mlp.gate_proj.weight", "BF16", [inter, h]),
                (p + "mlp.up_proj.weight", "BF16", [inter, h]),
                (p + "post_attention_layernorm.weight", "BF16", [h]),
                (p + "self_attn.k_proj.weight", "BF16", [kv, h]),
                (p + "self_attn.o_proj.weight", "BF16", [h, q]),
                (p + "self_attn.q_proj.weight", "BF16", [q, h]),
                (p + "self_attn.v_proj.weight", "BF16", [kv, h])]
    out += [("language_model.model.norm.weight", "BF16", [h]),
            ("multi_modal_projector.linear_1.weight", "BF16", [h, vh]),
            ("multi_modal_projector.linear_2.weight", "BF16", [h, h]),
            ("multi_modal_projector.norm.weight", "BF16", [vh]),
            ("multi_modal_projector.patch_merger.merging_layer.weight", "BF16",
             [vh, vh * merge * merge]),
            ("vision_tower.ln_pre.weight", "BF16", [vh]),
            ("vision_tower.patch_conv.weight", "BF16", [vh, v["num_channels"], patch, patch])]
    for n in range(v["num_hidden_layers"]):
        p = f"vision_tower.transformer.layers.{n}."
        out += [(p + "attention.k_proj.weight", "BF16", [vh, vh]),
                (p + "attention.o_proj.weight", "BF16", [vh, vh]),
                (p + "attention.q_proj.weight", "BF16", [vh, vh]),
                (p + "attention.v_proj.weight", "BF16", [vh, vh]),
                (p + "attention_norm.weight", "BF16", [vh]),
                (p + "feed_forward.down_proj.weight", "BF16", [vh, vi]),
                (p + "feed_forward.gate_proj.weight", "BF16", [vi, vh]),
                (p + "feed_forward.up_proj.weight", "BF16", [vi, vh]),
                (p + "ffn_norm.weight", "BF16", [vh])]
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "mistralai__Mistral-Small-3.1-24B-Instruct-2503")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=2)
