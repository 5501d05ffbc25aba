#!/usr/bin/env python3
"""nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 as a header-only replica.

config.json: the published architecture fields (model card and the repo's config.json as
quoted by public projects). Tensor names: transformers' NemotronH modules (backbone.embeddings,
backbone.layers.N.norm + .mixer, backbone.norm_f, lm_head); a block is one of Mamba-2 (M),
attention (*), MoE (E) or MLP (-) per hybrid_override_pattern. MoE experts and the shared
expert are up/down projections (relu2, no gate); the router has a score-correction bias."""
import os
import sys

from replica import write_config, write_replica

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "architectures": ["NemotronHForCausalLM"],
    "model_type": "nemotron_h",
    "vocab_size": 131072,
    "hidden_size": 2688,
    "intermediate_size": 1856,
    "num_hidden_layers": 52,
    "max_position_embeddings": 262144,
    "tie_word_embeddings": False,
    "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
    "num_attention_heads": 32,
    "num_key_value_heads": 2,
    "head_dim": 128,
    "attention_bias": False,
    "mlp_bias": False,
    "mlp_hidden_act": "relu2",
    "mamba_hidden_act": "silu",
    "use_mamba_kernels": True,
    "mamba_num_heads": 64,
    "mamba_head_dim": 64,
    "ssm_state_size": 128,
    "conv_kernel": 4,
    "chunk_size": 128,
    "n_groups": 8,
    "use_bias": False,
    "use_conv_bias": True,
    "n_routed_experts": 128,
    "n_shared_experts": 1,
    "num_experts_per_tok": 6,
    "routed_scaling_factor": 2.5,
    "n_group": 1,
    "topk_group": 1,
    "norm_topk_prob": True,
    "moe_intermediate_size": 1856,
    "moe_shared_expert_intermediate_size": 3712,
    "layer_norm_epsilon": 1e-05,
    "residual_in_fp32": False,
    "time_step_min": 0.001,
    "time_step_max": 0.1,
    "time_step_floor": 0.0001,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "num_logits_to_keep": 1,
}


def tensors(c):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, kv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    mh, mhd, g, n = c["mamba_num_heads"], c["mamba_head_dim"], c["n_groups"], c["ssm_state_size"]
    inner = mh * mhd
    conv_dim = inner + 2 * g * n
    e, ei, si = c["n_routed_experts"], c["moe_intermediate_size"], c["moe_shared_expert_intermediate_size"]
    out = [("backbone.embeddings.weight", "BF16", [v, h])]
    for i, kind in enumerate(c["hybrid_override_pattern"]):
        p = f"backbone.layers.{i}."
        out.append((p + "norm.weight", "BF16", [h]))
        m = p + "mixer."
        if kind == "M":
            out += [(m + "A_log", "F32", [mh]), (m + "D", "F32", [mh]),
                    (m + "conv1d.bias", "BF16", [conv_dim]),
                    (m + "conv1d.weight", "BF16", [conv_dim, 1, c["conv_kernel"]]),
                    (m + "dt_bias", "F32", [mh]),
                    (m + "in_proj.weight", "BF16", [inner + conv_dim + mh, h]),
                    (m + "norm.weight", "BF16", [inner]),
                    (m + "out_proj.weight", "BF16", [h, inner])]
        elif kind == "*":
            out += [(m + "k_proj.weight", "BF16", [kv * hd, h]),
                    (m + "o_proj.weight", "BF16", [h, heads * hd]),
                    (m + "q_proj.weight", "BF16", [heads * hd, h]),
                    (m + "v_proj.weight", "BF16", [kv * hd, h])]
        elif kind == "E":
            for j in range(e):
                out += [(m + f"experts.{j}.down_proj.weight", "BF16", [h, ei]),
                        (m + f"experts.{j}.up_proj.weight", "BF16", [ei, h])]
            out += [(m + "gate.e_score_correction_bias", "F32", [e]),
                    (m + "gate.weight", "BF16", [e, h]),
                    (m + "shared_experts.down_proj.weight", "BF16", [h, si]),
                    (m + "shared_experts.up_proj.weight", "BF16", [si, h])]
        elif kind == "-":
            out += [(m + "down_proj.weight", "BF16", [h, c["intermediate_size"]]),
                    (m + "up_proj.weight", "BF16", [c["intermediate_size"], h])]
        else:
            sys.exit(f"unknown block kind {kind!r}")
    out += [("backbone.norm_f.weight", "BF16", [h]), ("lm_head.weight", "BF16", [v, h])]
    return out


if __name__ == "__main__":
    folder = os.path.join(HERE, "..", "nvidia__NVIDIA-Nemotron-3-Nano-30B-A3B")
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=13)
