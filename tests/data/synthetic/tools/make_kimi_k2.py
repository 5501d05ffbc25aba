#!/usr/bin/env python3
"""moonshotai/Kimi-K2-Instruct (FP8) and moonshotai/Kimi-K2-Thinking (INT4) as header-only
replicas, written where the caller says (the test build generates them: at ~140k and ~208k
tensors their headers are 15-25 MB, too large to commit).

    make_kimi_k2.py instruct OUT_DIR
    make_kimi_k2.py thinking OUT_DIR

config.json: the published Kimi-K2-Instruct fields (model_type kimi_k2, DeepSeek-V3 layout:
61 layers, the first dense, 384 routed experts of 2048 and one shared, top-8, MLA with
q_lora_rank 1536 / kv_lora_rank 512, vocab 163840, no MTP layer). Tensor names: the
checkpoint's DeepseekV3 modules (model.layers.N.self_attn.q_a_proj, ..., mlp.experts.E.*,
mlp.shared_experts.*, mlp.gate.weight + e_score_correction_bias).

Instruct: every linear weight inside the layers is F8_E4M3 with an F32 weight_scale_inv of
one value per 128 x 128 block (quantization_config fp8, weight_block_size [128, 128]); the
router, norms, embedding and lm_head are BF16, the score-correction bias F32.
Thinking: compressed-tensors pack-quantized INT4 (group 32) on the routed experts only:
weight_packed I32 [out, in / 8], weight_scale BF16 [out, in / 32], weight_shape I32 [2];
everything else BF16 (the bias F32)."""
import math
import os
import sys

from replica import write_config, write_replica

CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "aux_loss_alpha": 0.001,
    "bos_token_id": 163584,
    "eos_token_id": 163585,
    "first_k_dense_replace": 1,
    "hidden_act": "silu",
    "hidden_size": 7168,
    "initializer_range": 0.02,
    "intermediate_size": 18432,
    "kv_lora_rank": 512,
    "max_position_embeddings": 131072,
    "model_type": "kimi_k2",
    "moe_intermediate_size": 2048,
    "moe_layer_freq": 1,
    "n_group": 1,
    "n_routed_experts": 384,
    "n_shared_experts": 1,
    "norm_topk_prob": True,
    "num_attention_heads": 64,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 61,
    "num_key_value_heads": 64,
    "num_nextn_predict_layers": 0,
    "pretraining_tp": 1,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "rms_norm_eps": 1e-06,
    "rope_scaling": {
        "beta_fast": 1.0,
        "beta_slow": 1.0,
        "factor": 32.0,
        "mscale": 1.0,
        "mscale_all_dim": 1.0,
        "original_max_position_embeddings": 4096,
        "type": "yarn",
    },
    "rope_theta": 50000.0,
    "routed_scaling_factor": 2.827,
    "scoring_func": "sigmoid",
    "seq_aux": True,
    "tie_word_embeddings": False,
    "topk_group": 1,
    "topk_method": "noaux_tc",
    "torch_dtype": "bfloat16",
    "transformers_version": "4.48.3",
    "use_cache": True,
    "v_head_dim": 128,
    "vocab_size": 163840,
}

FP8 = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
       "weight_block_size": [128, 128]}

INT4 = {
    "config_groups": {
        "group_0": {
            "input_activations": None,
            "output_activations": None,
            "targets": ["Linear"],
            "weights": {"actorder": None, "block_structure": None, "dynamic": False,
                        "group_size": 32, "num_bits": 4, "observer": "minmax",
                        "observer_kwargs": {}, "strategy": "group", "symmetric": True,
                        "type": "int"},
        }
    },
    "format": "pack-quantized",
    "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", "re:.*mlp\\.(gate|up|gate_up|down)_proj.*"],
    "kv_cache_scheme": None,
    "quant_method": "compressed-tensors",
    "quantization_status": "compressed",
}


def tensors(c, variant):
    h, v = c["hidden_size"], c["vocab_size"]
    heads, ql, kr = c["num_attention_heads"], c["q_lora_rank"], c["kv_lora_rank"]
    nope, rope, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    e, ei = c["n_routed_experts"], c["moe_intermediate_size"]
    fp8 = variant == "instruct"

    def linear(name, out_f, in_f, expert=False):
        if fp8:
            return [(name + ".weight", "F8_E4M3", [out_f, in_f]),
                    (name + ".weight_scale_inv", "F32",
                     [math.ceil(out_f / 128), math.ceil(in_f / 128)])]
        if expert:
            return [(name + ".weight_packed", "I32", [out_f, in_f // 8]),
                    (name + ".weight_scale", "BF16", [out_f, in_f // 32]),
                    (name + ".weight_shape", "I32", [2])]
        return [(name + ".weight", "BF16", [out_f, in_f])]

    def mlp(prefix, width, expert=False):
        return (linear(prefix + "down_proj", h, width, expert) +
                linear(prefix + "gate_proj", width, h, expert) +
                linear(prefix + "up_proj", width, h, expert))

    out = [("model.embed_tokens.weight", "BF16", [v, h])]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        out.append((p + "input_layernorm.weight", "BF16", [h]))
        if i < c["first_k_dense_replace"]:
            out += mlp(p + "mlp.", c["intermediate_size"])
        else:
            for j in range(e):
                out += mlp(p + f"mlp.experts.{j}.", ei, expert=True)
            out += [(p + "mlp.gate.e_score_correction_bias", "F32", [e]),
                    (p + "mlp.gate.weight", "BF16", [e, h])]
            out += mlp(p + "mlp.shared_experts.", ei * c["n_shared_experts"])
        out.append((p + "post_attention_layernorm.weight", "BF16", [h]))
        out += linear(a + "kv_a_proj_with_mqa", kr + rope, h)
        out.append((a + "kv_a_layernorm.weight", "BF16", [kr]))
        out += linear(a + "kv_b_proj", heads * (nope + vd), kr)
        out += linear(a + "o_proj", h, heads * vd)
        out += linear(a + "q_a_proj", ql, h)
        out.append((a + "q_a_layernorm.weight", "BF16", [ql]))
        out += linear(a + "q_b_proj", heads * (nope + rope), ql)
    out += [("model.norm.weight", "BF16", [h]), ("lm_head.weight", "BF16", [v, h])]
    return out


NOTE = """# Header-only test model: moonshotai/Kimi-K2-{title}

Written by `tests/data/synthetic/tools/make_kimi_k2.py` into the build tree (not committed: the
headers are tens of MB); not a copy of the real headers. See the script for the layout.

Logical total 1,026,408,232,448: counted from all the real checkpoints' shard headers by a
public independent audit (scales, weight_shape tensors and buffers not counted, INT4 unpacked);
the hand calculation is in tests/unit/analysis/kimi_test.cpp. The Hub's safetensors total for
Kimi-K2-Instruct, 1,026,408,235,864, is 3,416 BF16 elements (one 56-element tensor per layer)
above it; no public source names those tensors, so this replica leaves them out.
"""


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("instruct", "thinking"):
        sys.exit("usage: make_kimi_k2.py instruct|thinking OUT_DIR")
    variant, folder = sys.argv[1], sys.argv[2]
    config = dict(CONFIG)
    config["quantization_config"] = FP8 if variant == "instruct" else INT4
    write_config(folder, config)
    write_replica(folder, tensors(config, variant), shards=61 if variant == "instruct" else 62)
    with open(os.path.join(folder, "SYNTHETIC.md"), "w") as f:
        f.write(NOTE.format(title="Instruct" if variant == "instruct" else "Thinking"))
