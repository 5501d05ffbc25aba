#!/usr/bin/env python3
"""Qwen/Qwen3-VL-8B-Instruct and Qwen/Qwen3-VL-30B-A3B-Instruct as header-only replicas.

config.json: the published architecture fields (the repos' config.json as public code and
fixtures quote them): Qwen3 text layers under text_config (q/k RMSNorm per head, interleaved
M-RoPE sections [24, 20, 20]), the Qwen3-VL vision tower under vision_config (depth 27, hidden
1152, MLP 4304, 16 heads, patch 16 x temporal 2, 2304 learned positions, 2x2 merge) with
DeepStack mergers after blocks 8, 16 and 24. Tensor names: the checkpoints' (model.visual.*:
patch_embed.proj, pos_embed, blocks.N.{norm1,norm2,attn.qkv,attn.proj,mlp.linear_fc1/2},
merger.{norm,linear_fc1,linear_fc2}, deepstack_merger_list.N.*; model.language_model.*;
lm_head). The MoE model stores each layer's experts fused: mlp.experts.gate_up_proj
[experts, hidden, 2 x moe_intermediate] and mlp.experts.down_proj [experts, moe_intermediate,
hidden], beside the router mlp.gate. BF16 throughout."""
import copy
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

VISION = {
    "deepstack_visual_indexes": [8, 16, 24],
    "depth": 27,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_size": 1152,
    "in_channels": 3,
    "initializer_range": 0.02,
    "intermediate_size": 4304,
    "model_type": "qwen3_vl",
    "num_heads": 16,
    "num_position_embeddings": 2304,
    "out_hidden_size": 4096,
    "patch_size": 16,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}

ROPE = {"mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"}

DENSE = {
    "architectures": ["Qwen3VLForConditionalGeneration"],
    "image_token_id": 151655,
    "model_type": "qwen3_vl",
    "text_config": {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "dtype": "bfloat16",
        "eos_token_id": 151645,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 4096,
        "initializer_range": 0.02,
        "intermediate_size": 12288,
        "max_position_embeddings": 262144,
        "model_type": "qwen3_vl_text",
        "num_attention_heads": 32,
        "num_hidden_layers": 36,
        "num_key_value_heads": 8,
        "rms_norm_eps": 1e-06,
        "rope_scaling": ROPE,
        "rope_theta": 5000000,
        "use_cache": True,
        "vocab_size": 151936,
    },
    "tie_word_embeddings": False,
    "transformers_version": "4.57.0.dev0",
    "video_token_id": 151656,
    "vision_config": VISION,
    "vision_end_token_id": 151653,
    "vision_start_token_id": 151652,
}

MOE = copy.deepcopy(DENSE)
MOE["architectures"] = ["Qwen3VLMoeForConditionalGeneration"]
MOE["model_type"] = "qwen3_vl_moe"
MOE["text_config"].update({
    "decoder_sparse_step": 1,
    "hidden_size": 2048,
    "intermediate_size": 6144,
    "mlp_only_layers": [],
    "model_type": "qwen3_vl_moe_text",
    "moe_intermediate_size": 768,
    "norm_topk_prob": True,
    "num_attention_heads": 32,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 48,
    "num_key_value_heads": 4,
})
MOE["vision_config"] = dict(VISION, model_type="qwen3_vl_moe", out_hidden_size=2048)


def vision_tensors(v):
    h, i_, out = v["hidden_size"], v["intermediate_size"], v["out_hidden_size"]
    merged = h * v["spatial_merge_size"] ** 2
    p = "model.visual."
    t = [(p + "patch_embed.proj.weight", "BF16",
          [h, v["in_channels"], v["temporal_patch_size"], v["patch_size"], v["patch_size"]]),
         (p + "patch_embed.proj.bias", "BF16", [h]),
         (p + "pos_embed.weight", "BF16", [v["num_position_embeddings"], h])]
    for n in range(v["depth"]):
        b = f"{p}blocks.{n}."
        t += [(b + "attn.proj.bias", "BF16", [h]), (b + "attn.proj.weight", "BF16", [h, h]),
              (b + "attn.qkv.bias", "BF16", [3 * h]), (b + "attn.qkv.weight", "BF16", [3 * h, h]),
              (b + "mlp.linear_fc1.bias", "BF16", [i_]),
              (b + "mlp.linear_fc1.weight", "BF16", [i_, h]),
              (b + "mlp.linear_fc2.bias", "BF16", [h]),
              (b + "mlp.linear_fc2.weight", "BF16", [h, i_]),
              (b + "norm1.bias", "BF16", [h]), (b + "norm1.weight", "BF16", [h]),
              (b + "norm2.bias", "BF16", [h]), (b + "norm2.weight", "BF16", [h])]

    def merger(prefix, norm_width):
        return [(prefix + "linear_fc1.bias", "BF16", [merged]),
                (prefix + "linear_fc1.weight", "BF16", [merged, merged]),
                (prefix + "linear_fc2.bias", "BF16", [out]),
                (prefix + "linear_fc2.weight", "BF16", [out, merged]),
                (prefix + "norm.bias", "BF16", [norm_width]),
                (prefix + "norm.weight", "BF16", [norm_width])]
    for n in range(len(v["deepstack_visual_indexes"])):
        t += merger(f"{p}deepstack_merger_list.{n}.", merged)
    t += merger(p + "merger.", h)
    return t


def text_tensors(c):
    h, vocab = c["hidden_size"], c["vocab_size"]
    hd = c["head_dim"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    out = [("lm_head.weight", "BF16", [vocab, h]),
           ("model.language_model.embed_tokens.weight", "BF16", [vocab, h])]
    for n in range(c["num_hidden_layers"]):
        p = f"model.language_model.layers.{n}."
        out += [(p + "input_layernorm.weight", "BF16", [h])]
        if "num_experts" in c:
            e, w = c["num_experts"], c["moe_intermediate_size"]
            out += [(p + "mlp.experts.down_proj", "BF16", [e, w, h]),
                    (p + "mlp.experts.gate_up_proj", "BF16", [e, h, 2 * w]),
                    (p + "mlp.gate.weight", "BF16", [e, h])]
        else:
            w = c["intermediate_size"]
            out += [(p + "mlp.down_proj.weight", "BF16", [h, w]),
                    (p + "mlp.gate_proj.weight", "BF16", [w, h]),
                    (p + "mlp.up_proj.weight", "BF16", [w, h])]
        out += [(p + "post_attention_layernorm.weight", "BF16", [h]),
                (p + "self_attn.k_norm.weight", "BF16", [hd]),
                (p + "self_attn.k_proj.weight", "BF16", [kv, h]),
                (p + "self_attn.o_proj.weight", "BF16", [h, q]),
                (p + "self_attn.q_norm.weight", "BF16", [hd]),
                (p + "self_attn.q_proj.weight", "BF16", [q, h]),
                (p + "self_attn.v_proj.weight", "BF16", [kv, h])]
    out.append(("model.language_model.norm.weight", "BF16", [h]))
    return out


if __name__ == "__main__":
    for name, config, shards in (("Qwen__Qwen3-VL-8B-Instruct", DENSE, 4),
                                 ("Qwen__Qwen3-VL-30B-A3B-Instruct", MOE, 13)):
        folder = os.path.join(HERE, "..", name)
        write_config(folder, config)
        write_replica(folder,
                      text_tensors(config["text_config"]) + vision_tensors(config["vision_config"]),
                      shards=shards)
