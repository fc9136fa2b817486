"""A GPT-2 in plain PyTorch with Hugging Face GPT2LMHeadModel's parameter names, for checks where transformers is not
installed (reference_models.load builds it from a checkpoint folder).

The math is GPT-2's: learned token and position embeddings; per block a pre-LayerNorm causal self-attention and a
pre-LayerNorm MLP (tanh-approximated GELU, 4x wide), each added to the residual stream; a final LayerNorm; logits
against the token embedding (tied) or a separate lm_head. Projection weights are stored [in, out], as Hugging Face's
Conv1D stores them.
"""
import math
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn


class Projection(nn.Module):
    """y = x W + b with W stored [in, out] (Hugging Face's Conv1D layout)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class Attention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = Projection(c, 3 * c)
        self.c_proj = Projection(c, c)

    def forward(self, x):  # x: [B, T, C]
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.heads)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        y = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Projection(c, 4 * c)
        self.c_proj = Projection(4 * c, c)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c, heads, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c, eps=eps)
        self.attn = Attention(c, heads)
        self.ln_2 = nn.LayerNorm(c, eps=eps)
        self.mlp = Mlp(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, eps = cfg["n_embd"], cfg.get("layer_norm_epsilon", 1e-5)
        self.wte = nn.Embedding(cfg["vocab_size"], c)
        self.wpe = nn.Embedding(cfg["n_positions"], c)
        self.h = nn.ModuleList([Block(c, cfg["n_head"], eps) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(c, eps=eps)


class Gpt2Reference(nn.Module):
    """Returns an object with .logits [B, T, vocab], as transformers' GPT2LMHeadModel does."""

    def __init__(self, cfg):
        super().__init__()
        self.transformer = Transformer(cfg)
        self.tied = cfg.get("tie_word_embeddings", True)
        if not self.tied:
            self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)

    def forward(self, ids):  # ids: [B, T]
        t = self.transformer
        x = t.wte(ids) + t.wpe(torch.arange(ids.shape[1], device=ids.device))
        for block in t.h:
            x = block(x)
        x = t.ln_f(x)
        head = t.wte.weight if self.tied else self.lm_head.weight
        return SimpleNamespace(logits=x @ head.T)
