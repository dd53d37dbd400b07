#!/usr/bin/env python3
"""PyTorch reference decoder for Llama, Qwen2 and Mistral checkpoints (HF layout), independent of oppu.

Written from the published HF transformers model definitions (modeling_llama.py, modeling_qwen2.py,
modeling_mistral.py and modeling_rope_utils.py), without the transformers library: RMSNorm, rotary embeddings
with rope_scaling (default, linear, dynamic, llama3), grouped-query attention with biases where the family has
them (Qwen2 q/k/v; Llama attention_bias / mlp_bias), the sliding-window causal mask (Mistral; Qwen2 layers at
or past max_window_layers when use_sliding_window), SwiGLU and tied or untied output heads. Weights are read
from model.safetensors (or the shards a model.safetensors.index.json names) and computed in float32.

Usage: torch_reference.py CHECKPOINT_DIR < request.json
  request: {"prompts": [[ids...], ...], "new_tokens": N}
  prints:  {"logits": [[t * vocab floats], ...], "greedy": [[N ids], ...]}
Each prompt runs alone (batch 1, no padding); greedy decoding recomputes the whole sequence each step.
"""

import json
import math
import os
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        buf = bytearray(data[base + start : base + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = t.to(torch.float32)
    return out


def load_weights(ckpt):
    index = os.path.join(ckpt, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(ckpt, "model.safetensors"))
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(ckpt, name)))
    return weights


# ---- rotary embeddings (modeling_rope_utils.py)


def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def default_inv_freq(cfg, base=None):
    base = cfg.get("rope_theta", 10000.0) if base is None else base
    dim = int(head_dim_of(cfg) * cfg.get("partial_rotary_factor", 1.0))
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def rope_type(cfg):
    rs = cfg.get("rope_scaling")
    if not rs:
        return "default", {}
    return rs.get("rope_type", rs.get("type")), rs


def inv_freq_for(cfg, seq_len):
    kind, rs = rope_type(cfg)
    if kind == "default":
        return default_inv_freq(cfg)
    if kind == "linear":
        return default_inv_freq(cfg) / rs["factor"]
    if kind == "dynamic":
        # _compute_dynamic_ntk_parameters, refreshed per forward by dynamic_rope_update (seq_len = max position + 1)
        base = cfg.get("rope_theta", 10000.0)
        dim = int(head_dim_of(cfg) * cfg.get("partial_rotary_factor", 1.0))
        max_pos = cfg["max_position_embeddings"]
        if seq_len <= max_pos:
            return default_inv_freq(cfg)
        factor = rs["factor"]
        base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return default_inv_freq(cfg, base)
    if kind == "llama3":
        inv_freq = default_inv_freq(cfg)
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(is_medium, smoothed, inv_freq_llama)
    raise SystemExit(f"torch_reference: rope type {kind!r} is not implemented here")


def rotary_cos_sin(cfg, positions):
    inv_freq = inv_freq_for(cfg, int(positions.max()) + 1)
    freqs = positions.float()[:, None] * inv_freq[None, :]  # [t, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)  # [t, hd]
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


# ---- the decoder


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def linear(w, x, name):
    y = x @ w[name + ".weight"].T
    bias = w.get(name + ".bias")
    return y if bias is None else y + bias


def sliding_window_of(cfg, layer):
    arch = (cfg.get("architectures") or ["LlamaForCausalLM"])[0]
    if arch == "MistralForCausalLM":
        return cfg.get("sliding_window")
    if arch == "Qwen2ForCausalLM":
        layer_types = cfg.get("layer_types")
        if layer_types is None:
            sliding = cfg.get("use_sliding_window", False) and layer >= cfg.get("max_window_layers", 0)
        else:
            sliding = layer_types[layer] == "sliding_attention"
        return cfg.get("sliding_window") if sliding else None
    return None


def attention_mask(t, window):
    q = torch.arange(t)[:, None]
    k = torch.arange(t)[None, :]
    allowed = k <= q
    if window is not None:
        allowed = allowed & (k > q - window)  # masking_utils.sliding_window_overlay
    mask = torch.zeros(t, t)
    return mask.masked_fill(~allowed, torch.finfo(torch.float32).min)


def forward(cfg, w, ids):
    t = len(ids)
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    hd = head_dim_of(cfg)
    eps = cfg.get("rms_norm_eps", 1e-6)
    positions = torch.arange(t)
    cos, sin = rotary_cos_sin(cfg, positions)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]  # [t, d]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}"
        h = rms_norm(x, w[p + ".input_layernorm.weight"], eps)
        q = linear(w, h, p + ".self_attn.q_proj").view(t, heads, hd).transpose(0, 1)  # [h, t, hd]
        k = linear(w, h, p + ".self_attn.k_proj").view(t, kv_heads, hd).transpose(0, 1)
        v = linear(w, h, p + ".self_attn.v_proj").view(t, kv_heads, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = heads // kv_heads
        k = k.repeat_interleave(groups, dim=0)  # repeat_kv
        v = v.repeat_interleave(groups, dim=0)
        scores = (q @ k.transpose(1, 2)) * hd**-0.5 + attention_mask(t, sliding_window_of(cfg, layer))
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
        att = (probs @ v).transpose(0, 1).reshape(t, heads * hd)
        x = x + linear(w, att, p + ".self_attn.o_proj")
        h = rms_norm(x, w[p + ".post_attention_layernorm.weight"], eps)
        gate = linear(w, h, p + ".mlp.gate_proj")
        up = linear(w, h, p + ".mlp.up_proj")
        x = x + linear(w, torch.nn.functional.silu(gate) * up, p + ".mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    # LlamaConfig, Qwen2Config and MistralConfig all default tie_word_embeddings to False.
    tied = cfg.get("tie_word_embeddings", False)
    head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
    return x @ head.T  # [t, vocab]


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: torch_reference.py CHECKPOINT_DIR < request.json")
    ckpt = sys.argv[1]
    with open(os.path.join(ckpt, "config.json")) as f:
        cfg = json.load(f)
    w = load_weights(ckpt)
    request = json.load(sys.stdin)
    out = {"logits": [], "greedy": []}
    with torch.no_grad():
        for prompt in request["prompts"]:
            out["logits"].append(forward(cfg, w, prompt).flatten().tolist())
            seq = list(prompt)
            for _ in range(request.get("new_tokens", 0)):
                seq.append(int(forward(cfg, w, seq)[-1].argmax()))
            out["greedy"].append(seq[len(prompt) :])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
