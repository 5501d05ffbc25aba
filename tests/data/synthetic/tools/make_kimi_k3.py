#!/usr/bin/env python3
"""moonshotai/Kimi-K3 as a header-only replica, written where the caller says (the test build
generates it: 497,220 tensors, ~60 MB of headers, too large to commit).

    make_kimi_k3.py OUT_DIR

config.json: the published file's architecture fields (model_type kimi_k3 with a kimi_linear
text_config and a vision_config; the generation defaults transformers serialises into
text_config are left out). Tensor names, shapes and dtypes: the checkpoint's own listing as
quoted by a public model report of its 96 shards (497,220 tensors):
  language_model.model.layers.N: KDA layers (69) self_attn.{q,k,v}_proj, {q,k,v}_conv1d F32,
    A_log F32 [128] (96 heads padded to 128), dt_bias F32, f_a/f_b, b_proj, o_norm F32; MLA
    layers (24) q_a/q_b with q_a_layernorm, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj;
    every layer self_attn.g_proj (full-rank output gate) and o_proj, input/post norms and the
    Attention Residual tensors (self_attention_res_norm/_proj, mlp_res_norm/_proj);
  layer 0 a dense mlp; layers 1-92 block_sparse_moe with 896 latent experts w1/w2/w3 as
    MXFP4 (U8 weight_packed, two values a byte, and U8 weight_scale per 32), the latent
    routed_expert_down_proj / _up_proj / _norm, 2 shared experts, gate.weight and an F32
    e_score_correction_bias;
  language_model.model.{embed_tokens,norm,output_attn_res_norm,output_attn_res_proj},
  language_model.lm_head, the vision_tower (27 blocks) and mm_projector."""
import os
import sys

from replica import write_config, write_replica

FULL = list(range(4, 93, 4)) + [93]

TEXT = {
    "activation_situ_beta": 4.0,
    "activation_situ_linear_beta": 25.0,
    "architectures": ["KimiLinearForCausalLM"],
    "attn_res_block_size": 12,
    "bos_token_id": 163584,
    "dtype": "bfloat16",
    "eos_token_id": 163586,
    "first_k_dense_replace": 1,
    "hidden_act": "situ",
    "hidden_size": 7168,
    "initializer_range": 0.02,
    "intermediate_size": 33792,
    "kv_lora_rank": 512,
    "latent_moe_use_norm": True,
    "linear_attn_config": {
        "full_attn_layers": FULL,
        "gate_lower_bound": -5.0,
        "head_dim": 128,
        "kda_layers": [i for i in range(1, 94) if i not in FULL],
        "num_heads": 96,
        "short_conv_kernel_size": 4,
        "use_full_rank_gate": True,
    },
    "max_position_embeddings": 1048576,
    "mla_use_nope": True,
    "mla_use_output_gate": True,
    "model_type": "kimi_linear",
    "moe_intermediate_size": 3072,
    "moe_layer_freq": 1,
    "moe_renormalize": True,
    "moe_router_activation_func": "sigmoid",
    "num_attention_heads": 96,
    "num_expert_group": 1,
    "num_experts": 896,
    "num_experts_per_token": 16,
    "num_hidden_layers": 93,
    "num_key_value_heads": 96,
    "num_nextn_predict_layers": 0,
    "num_shared_experts": 2,
    "pad_token_id": 163839,
    "q_lora_rank": 1536,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "quantization_config": {
        "config_groups": {
            "group_0": {
                "format": "mxfp4-pack-quantized",
                "input_activations": None,
                "output_activations": None,
                "targets": ["Linear"],
                "weights": {"actorder": None, "block_structure": None, "dynamic": False,
                            "group_size": 32, "num_bits": 4, "observer": "minmax",
                            "observer_kwargs": {}, "scale_dtype": "torch.uint8",
                            "strategy": "group", "symmetric": True, "type": "float",
                            "zp_dtype": None},
            }
        },
        "format": "mxfp4-pack-quantized",
        "global_compression_ratio": None,
        "ignore": ["re:.*self_attn.*", "re:.*shared_experts.*",
                   "re:.*mlp\\.(gate|up|gate_up|down)_proj.*", "re:.*lm_head.*",
                   "re:.*vision_tower.*", "re:.*mm_projector.*"],
        "kv_cache_scheme": None,
        "quant_method": "compressed-tensors",
        "quantization_status": "compressed",
    },
    "rms_norm_eps": 1e-05,
    "routed_expert_hidden_size": 3584,
    "routed_scaling_factor": 1.0,
    "tie_word_embeddings": False,
    "topk_group": 1,
    "topk_method": "noaux_tc",
    "transformers_version": "4.56.2",
    "use_cache": True,
    "use_grouped_topk": True,
    "v_head_dim": 128,
    "vocab_size": 163840,
}

CONFIG = {
    "architectures": ["KimiK3ForConditionalGeneration"],
    "auto_map": {
        "AutoConfig": "configuration_kimi_k3.KimiK3Config",
        "AutoModel": "modeling_kimi_k3.KimiK3ForConditionalGeneration",
        "AutoModelForCausalLM": "modeling_kimi_k3.KimiK3ForConditionalGeneration",
    },
    "bos_token_id": 163584,
    "dtype": "bfloat16",
    "eos_token_id": 163586,
    "ignore_index": -100,
    "image_placeholder": "<|kimi_image_placeholder|>",
    "media_placeholder_token_id": 163605,
    "model_type": "kimi_k3",
    "pad_token_id": 163839,
    "text_config": TEXT,
    "tie_word_embeddings": False,
    "vision_config": {
        "activation_func": "gelu_pytorch_tanh",
        "attn_bias": False,
        "init_pos_emb_height": 64,
        "init_pos_emb_time": 4,
        "init_pos_emb_width": 64,
        "linear_bias": False,
        "merge_kernel_size": [2, 2],
        "merge_type": "sd2_tpool",
        "mlp_type": "mlp2",
        "mm_hidden_size": 1024,
        "mm_projector_type": "patchmergerv2",
        "norm_type": "rmsnorm",
        "patch_embed_proj_bias": False,
        "patch_size": 14,
        "pos_emb_interpolation_mode": "bilinear",
        "pos_emb_type": "divided_fixed",
        "projector_hidden_act": "gelu",
        "projector_ln_eps": 1e-05,
        "qkv_hidden_size": 1536,
        "text_hidden_size": 7168,
        "vt_hidden_size": 1024,
        "vt_intermediate_size": 4096,
        "vt_num_attention_heads": 12,
        "vt_num_hidden_layers": 27,
    },
}


def tensors(c):
    t, vc = c["text_config"], c["vision_config"]
    h, v = t["hidden_size"], t["vocab_size"]
    lin = t["linear_attn_config"]
    kh, kd, kk = lin["num_heads"], lin["head_dim"], lin["short_conv_kernel_size"]
    p = kh * kd
    heads, ql, kr = t["num_attention_heads"], t["q_lora_rank"], t["kv_lora_rank"]
    nope, rope, vd = t["qk_nope_head_dim"], t["qk_rope_head_dim"], t["v_head_dim"]
    e, ei, lat = t["num_experts"], t["moe_intermediate_size"], t["routed_expert_hidden_size"]
    full = {i - 1 for i in lin["full_attn_layers"]}
    lm = "language_model.model."
    out = [("language_model.lm_head.weight", "BF16", [v, h]),
           (lm + "embed_tokens.weight", "BF16", [v, h])]

    def fp4(name, rows, cols):
        return [(name + ".weight_packed", "U8", [rows, cols // 2]),
                (name + ".weight_scale", "U8", [rows, cols // 32])]

    for i in range(t["num_hidden_layers"]):
        pre = lm + f"layers.{i}."
        a = pre + "self_attn."
        for n in ("input_layernorm", "mlp_res_norm", "post_attention_layernorm",
                  "self_attention_res_norm"):
            out.append((pre + n + ".weight", "BF16", [h]))
        out += [(pre + "mlp_res_proj.weight", "BF16", [1, h]),
                (pre + "self_attention_res_proj.weight", "BF16", [1, h]),
                (a + "g_proj.weight", "BF16", [heads * vd if i in full else p, h]),
                (a + "o_proj.weight", "BF16", [h, heads * vd if i in full else p])]
        if i in full:
            out += [(a + "kv_a_layernorm.weight", "BF16", [kr]),
                    (a + "kv_a_proj_with_mqa.weight", "BF16", [kr + rope, h]),
                    (a + "kv_b_proj.weight", "BF16", [heads * (nope + vd), kr]),
                    (a + "q_a_layernorm.weight", "BF16", [ql]),
                    (a + "q_a_proj.weight", "BF16", [ql, h]),
                    (a + "q_b_proj.weight", "BF16", [heads * (nope + rope), ql])]
        else:
            out += [(a + "A_log", "F32", [kd]),
                    (a + "b_proj.weight", "BF16", [kh, h]),
                    (a + "dt_bias", "F32", [p]),
                    (a + "f_a_proj.weight", "BF16", [kd, h]),
                    (a + "f_b_proj.weight", "BF16", [p, kd]),
                    (a + "k_conv1d.weight", "F32", [p, 1, kk]),
                    (a + "k_proj.weight", "BF16", [p, h]),
                    (a + "o_norm.weight", "F32", [kd]),
                    (a + "q_conv1d.weight", "F32", [p, 1, kk]),
                    (a + "q_proj.weight", "BF16", [p, h]),
                    (a + "v_conv1d.weight", "F32", [p, 1, kk]),
                    (a + "v_proj.weight", "BF16", [p, h])]
        if i < t["first_k_dense_replace"]:
            w = t["intermediate_size"]
            out += [(pre + "mlp.down_proj.weight", "BF16", [h, w]),
                    (pre + "mlp.gate_proj.weight", "BF16", [w, h]),
                    (pre + "mlp.up_proj.weight", "BF16", [w, h])]
        else:
            m = pre + "block_sparse_moe."
            for j in range(e):
                x = m + f"experts.{j}."
                out += fp4(x + "w1", ei, lat) + fp4(x + "w2", lat, ei) + fp4(x + "w3", ei, lat)
            sw = ei * t["num_shared_experts"]
            out += [(m + "gate.e_score_correction_bias", "F32", [e]),
                    (m + "gate.weight", "BF16", [e, h]),
                    (m + "routed_expert_down_proj.weight", "BF16", [lat, h]),
                    (m + "routed_expert_norm.weight", "BF16", [lat]),
                    (m + "routed_expert_up_proj.weight", "BF16", [h, lat]),
                    (m + "shared_experts.down_proj.weight", "BF16", [h, sw]),
                    (m + "shared_experts.gate_proj.weight", "BF16", [sw, h]),
                    (m + "shared_experts.up_proj.weight", "BF16", [sw, h])]
    out += [(lm + "norm.weight", "BF16", [h]),
            (lm + "output_attn_res_norm.weight", "BF16", [h]),
            (lm + "output_attn_res_proj.weight", "BF16", [1, h])]
    vh, vi, qkv = vc["vt_hidden_size"], vc["vt_intermediate_size"], vc["qkv_hidden_size"]
    merged = vc["mm_hidden_size"] * vc["merge_kernel_size"][0] * vc["merge_kernel_size"][1]
    out += [("mm_projector.post_norm.weight", "BF16", [h]),
            ("mm_projector.proj.0.weight", "BF16", [merged, merged]),
            ("mm_projector.proj.2.weight", "BF16", [h, merged])]
    for b in range(vc["vt_num_hidden_layers"]):
        x = f"vision_tower.encoder.blocks.{b}."
        out += [(x + "mlp.fc0.weight", "BF16", [vi, vh]),
                (x + "mlp.fc1.weight", "BF16", [vh, vi]),
                (x + "norm0.weight", "BF16", [vh]),
                (x + "norm1.weight", "BF16", [vh]),
                (x + "wo.weight", "BF16", [vh, qkv]),
                (x + "wqkv.weight", "BF16", [3 * qkv, vh])]
    ps = vc["patch_size"]
    out += [("vision_tower.encoder.final_layernorm.weight", "BF16", [vh]),
            ("vision_tower.patch_embed.pos_emb.weight", "BF16",
             [vc["init_pos_emb_height"], vc["init_pos_emb_width"], vh]),
            ("vision_tower.patch_embed.proj.weight", "BF16", [vh, 3, ps, ps])]
    return out


NOTE = """# Header-only test model: moonshotai/Kimi-K3

Written by `tests/data/synthetic/tools/make_kimi_k3.py` into the build tree (not committed: the
headers are ~60 MB); not a copy of the real headers. See the script for the layout.

Total 2,779,931,837,184: the Hub's safetensors total (HF API `safetensors.total`; per dtype F32
11,122,432 + BF16 57,179,884,544 + U8 2,722,740,830,208, the U8 figure counting the MXFP4
experts' logical values, two a byte, without their scales), quoted in public repositories; a
public audit of all 96 real shard headers counts the same logical total and 497,220 tensors.
"""


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_kimi_k3.py OUT_DIR")
    folder = sys.argv[1]
    write_config(folder, CONFIG)
    write_replica(folder, tensors(CONFIG), shards=96)
    with open(os.path.join(folder, "SYNTHETIC.md"), "w") as f:
        f.write(NOTE)
