"""A Llama in plain PyTorch with Hugging Face LlamaForCausalLM's parameter names, for checks where transformers is not
installed (reference_models.load builds it from a checkpoint folder).

The math, per Hugging Face's Llama: token embedding; per block RMSNorm (gain only) -> attention with rotary position
embedding on q and k (the rotate_half convention: dimension i of a head turns with dimension i + head_dim/2) and
grouped-query keys/values (query head h reads key/value head h // (n_head / n_kv_head)) -> residual add; RMSNorm ->
SwiGLU MLP down(silu(gate(x)) * up(x)) -> residual add; final RMSNorm; logits against lm_head (or the tied
embedding). No biases. Weights are nn.Linear's [out, in].
"""
import math
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn


class RmsNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(c))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["hidden_size"]
        self.heads, self.kv_heads = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
        self.head_dim = cfg.get("head_dim") or c // self.heads
        self.theta = cfg.get("rope_theta", 10000.0)
        self.q_proj = nn.Linear(c, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, c, bias=False)

    def forward(self, x):  # x: [B, T, C]
        B, T, _ = x.shape
        D = self.head_dim
        q = self.q_proj(x).view(B, T, self.heads, D).transpose(1, 2)      # [B, H, T, D]
        k = self.k_proj(x).view(B, T, self.kv_heads, D).transpose(1, 2)   # [B, KVH, T, D]
        v = self.v_proj(x).view(B, T, self.kv_heads, D).transpose(1, 2)
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, D, 2, dtype=torch.float32, device=x.device) / D))
        angles = torch.arange(T, dtype=torch.float32, device=x.device)[:, None] * inv_freq[None, :]  # [T, D/2]
        cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()    # [T, D]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # [B, H, T, D]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        y = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.heads * D))


class Mlp(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(c, hidden, bias=False)
        self.up_proj = nn.Linear(c, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, c, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RmsNorm(c, eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RmsNorm(c, eps)
        self.mlp = Mlp(c, cfg["intermediate_size"])

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RmsNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6))


class LlamaReference(nn.Module):
    """Returns an object with .logits [B, T, vocab], as transformers' LlamaForCausalLM does."""

    def __init__(self, cfg):
        super().__init__()
        if cfg.get("rope_scaling"):
            raise ValueError("rope_scaling is not part of this reference")
        self.model = Body(cfg)
        self.tied = cfg.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, ids):  # ids: [B, T]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return SimpleNamespace(logits=x @ head.T)
