#!/usr/bin/env python3
"""moonshotai/Kimi-Linear-48B-A3B-Instruct as a header-only replica.

config.json: the published file (as quoted by public model reports of the checkpoint). Tensor
names, shapes and dtypes: the checkpoint's own listing (a public report of its 20 shards,
20,493 tensors): KDA layers hold self_attn.{q,k,v}_proj, {q,k,v}_conv1d [4096, 1, 4], A_log
[1, 1, 32, 1] and dt_bias [4096] in F32, f_a/f_b and g_a/g_b low-rank projections, b_proj,
o_norm and o_proj; MLA layers (q_lora_rank null) self_attn.q_proj, kv_a_proj_with_mqa,
kv_a_layernorm, kv_b_proj, o_proj. Layer 0 has a dense mlp.{gate,up,down}_proj; layers 1-26
block_sparse_moe.experts.E.w1/w2/w3, shared_experts.{gate,up,down}_proj, gate.weight and a
BF16 gate.e_score_correction_bias. linear_attn_config's layer lists are 1-based."""
import os

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["KimiLinearForCausalLM"],
    "auto_map": {
        "AutoConfig": "configuration_kimi.KimiLinearConfig",
        "AutoModel": "modeling_kimi.KimiLinearModel",
        "AutoModelForCausalLM": "modeling_kimi.KimiLinearForCausalLM",
    },
    "bos_token_id": 163584,
    "dtype": "bfloat16",
    "eos_token_id": 163586,
    "first_k_dense_replace": 1,
    "head_dim": 72,
    "hidden_act": "silu",
    "hidden_size": 2304,
    "initializer_range": 0.02,
    "intermediate_size": 9216,
    "kv_lora_rank": 512,
    "linear_attn_config": {
        "full_attn_layers": [4, 8, 12, 16, 20, 24, 27],
        "head_dim": 128,
        "kda_layers": [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23, 25, 26],
        "num_heads": 32,
        "short_conv_kernel_size": 4,
    },
    "mla_use_nope": True,
    "model_max_length": 1048576,
    "model_type": "kimi_linear",
    "moe_intermediate_size": 1024,
    "moe_layer_freq": 1,
    "moe_renormalize": True,
    "moe_router_activation_func": "sigmoid",
    "num_attention_heads": 32,
    "num_expert_group": 1,
    "num_experts": 256,
    "num_experts_per_token": 8,
    "num_hidden_layers": 27,
    "num_key_value_heads": 32,
    "num_nextn_predict_layers": 0,
    "num_shared_experts": 1,
    "pad_token_id": 163839,
    "q_lora_rank": None,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "routed_scaling_factor": 2.446,
    "tie_word_embeddings": False,
    "topk_group": 1,
    "transformers_version": "4.57.1",
    "use_cache": True,
    "use_grouped_topk": True,
    "v_head_dim": 128,
    "vocab_size": 163840,
}


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    lin = c["linear_attn_config"]
    kh, kd, kk = lin["num_heads"], lin["head_dim"], lin["short_conv_kernel_size"]
    p = kh * kd
    heads, kr = c["num_attention_heads"], c["kv_lora_rank"]
    nope, rope, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    e, ei = c["num_experts"], c["moe_intermediate_size"]
    kda = {i - 1 for i in lin["kda_layers"]}
    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        a = pre + "self_attn."
        if i < c["first_k_dense_replace"]:
            w = c["intermediate_size"]
            out += [(pre + "mlp.down_proj.weight", "BF16", [h, w]),
                    (pre + "mlp.gate_proj.weight", "BF16", [w, h]),
                    (pre + "mlp.up_proj.weight", "BF16", [w, h])]
        else:
            m = pre + "block_sparse_moe."
            for j in range(e):
                out += [(m + f"experts.{j}.w1.weight", "BF16", [ei, h]),
                        (m + f"experts.{j}.w2.weight", "BF16", [h, ei]),
                        (m + f"experts.{j}.w3.weight", "BF16", [ei, h])]
            sw = ei * c["num_shared_experts"]
            out += [(m + "gate.e_score_correction_bias", "BF16", [e]),
                    (m + "gate.weight", "BF16", [e, h]),
                    (m + "shared_experts.down_proj.weight", "BF16", [h, sw]),
                    (m + "shared_experts.gate_proj.weight", "BF16", [sw, h]),
                    (m + "shared_experts.up_proj.weight", "BF16", [sw, h])]
        out += [(pre + "input_layernorm.weight", "BF16", [h]),
                (pre + "post_attention_layernorm.weight", "BF16", [h])]
        if i in kda:
            out += [(a + "A_log", "F32", [1, 1, kh, 1]),
                    (a + "b_proj.weight", "BF16", [kh, h]),
                    (a + "dt_bias", "F32", [p]),
                    (a + "f_a_proj.weight", "BF16", [kd, h]),
                    (a + "f_b_proj.weight", "BF16", [p, kd]),
                    (a + "g_a_proj.weight", "BF16", [kd, h]),
                    (a + "g_b_proj.weight", "BF16", [p, kd]),
                    (a + "k_conv1d.weight", "BF16", [p, 1, kk]),
                    (a + "k_proj.weight", "BF16", [p, h]),
                    (a + "o_norm.weight", "BF16", [kd]),
                    (a + "o_proj.weight", "BF16", [h, p]),
                    (a + "q_conv1d.weight", "BF16", [p, 1, kk]),
                    (a + "q_proj.weight", "BF16", [p, h]),
                    (a + "v_conv1d.weight", "BF16", [p, 1, kk]),
                    (a + "v_proj.weight", "BF16", [p, h])]
        else:
            out += [(a + "kv_a_layernorm.weight", "BF16", [kr]),
                    (a + "kv_a_proj_with_mqa.weight", "BF16", [kr + rope, h]),
                    (a + "kv_b_proj.weight", "BF16", [heads * (nope + vd), kr]),
                    (a + "o_proj.weight", "BF16", [h, heads * vd]),
                    (a + "q_proj.weight", "BF16", [heads * (nope + rope), h])]
    out += [("model.norm.weight", "BF16", [h]), ("lm_head.weight", "BF16", [v, h])]
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "moonshotai__Kimi-Linear-48B-A3B-Instruct")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG))  # one file: 20 shards and an index double the size
