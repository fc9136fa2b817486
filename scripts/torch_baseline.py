#!/usr/bin/env python3
"""PyTorch baseline for `./gns4j bench cpu|gpu`: a nanoGPT-style GPT-2 (pre-norm, GELU-tanh MLP, tied head, biases,
SDPA attention) or, with --arch llama, a plain Llama (RMSNorm with a gain only, RoPE as transformers' rotate_half,
grouped-query SDPA attention, SwiGLU MLP, no biases, untied head unless --tied), timed for forward + backward + AdamW
per optimizer step, the same work the gns4j benchmarks time. On CUDA use --bf16 (autocast, fp32 master weights).
AdamW is the fused one wherever this PyTorch has it (CUDA; the CPU since 2.4), as a PyTorch user would. Modes: eager,
compile (torch.compile of the same model) and, for Llama, hf (transformers' LlamaForCausalLM with SDPA attention,
eager).

Prints one JSON object per measured configuration on stdout:
  {"name": ..., "mode": "eager"|"compile"|"hf", "device": ..., "threads": n, "tok_per_s_median": x,
   "tok_per_s_min": .., "tok_per_s_max": .., "reps": k, "adamw": "fused"|"default", "torch": version}
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        shape = (b, t, self.n_head, c // self.n_head)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, c, block_size, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, c)
        self.wpe = nn.Embedding(block_size, c)
        self.h = nn.ModuleList(Block(c, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer) if name.endswith("proj.weight") else 0.02)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for blk in self.h:
            x = blk(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


class LlamaBlock(nn.Module):
    def __init__(self, c, n_head, n_kv_head, ffn):
        super().__init__()
        self.n_head, self.n_kv_head, self.hs = n_head, n_kv_head, c // n_head
        self.attn_norm = nn.RMSNorm(c, eps=1e-5, elementwise_affine=True)
        self.qkv = nn.Linear(c, c + 2 * n_kv_head * self.hs, bias=False)
        self.o = nn.Linear(c, c, bias=False)
        self.mlp_norm = nn.RMSNorm(c, eps=1e-5, elementwise_affine=True)
        self.gate_up = nn.Linear(c, 2 * ffn, bias=False)
        self.down = nn.Linear(ffn, c, bias=False)

    def forward(self, x, cos, sin):
        b, t, c = x.shape
        q, k, v = self.qkv(self.attn_norm(x)).split([c, self.n_kv_head * self.hs, self.n_kv_head * self.hs], dim=2)
        q = q.view(b, t, self.n_head, self.hs).transpose(1, 2)
        k = k.view(b, t, self.n_kv_head, self.hs).transpose(1, 2)
        v = v.view(b, t, self.n_kv_head, self.hs).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.n_kv_head != self.n_head)
        x = x + self.o(y.transpose(1, 2).contiguous().view(b, t, c))
        gate, up = self.gate_up(self.mlp_norm(x)).chunk(2, dim=2)
        return x + self.down(F.silu(gate) * up)


def rope(x, cos, sin):
    """transformers' rotate_half: pair i of a head is (i, i + hs/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Llama(nn.Module):
    def __init__(self, n_layer, n_head, n_kv_head, c, ffn, block_size, vocab, rope_theta, tied):
        super().__init__()
        self.embed = nn.Embedding(vocab, c)
        self.h = nn.ModuleList(LlamaBlock(c, n_head, n_kv_head, ffn) for _ in range(n_layer))
        self.norm = nn.RMSNorm(c, eps=1e-5, elementwise_affine=True)
        self.lm_head = nn.Linear(c, vocab, bias=False)
        if tied:
            self.lm_head.weight = self.embed.weight
        hs = c // n_head
        inv = rope_theta ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
        angles = torch.outer(torch.arange(block_size, dtype=torch.float64), inv)
        angles = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.embed(idx)
        cos, sin = self.cos[:t], self.sin[:t]
        for blk in self.h:
            x = blk(x, cos, sin)
        logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


class HfLlama(nn.Module):
    """transformers' LlamaForCausalLM of the same shape, SDPA attention, returning the loss."""

    def __init__(self, args):
        super().__init__()
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(vocab_size=args.vocab, hidden_size=args.n_embd, intermediate_size=args.ffn,
                          num_hidden_layers=args.n_layer, num_attention_heads=args.n_head,
                          num_key_value_heads=args.n_kv_head, max_position_embeddings=args.block_size,
                          rms_norm_eps=1e-5, rope_theta=args.rope_theta, tie_word_embeddings=args.tied,
                          attention_bias=False, mlp_bias=False, attn_implementation="sdpa")
        self.model = LlamaForCausalLM(cfg)

    def forward(self, idx, targets):
        logits = self.model(input_ids=idx).logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def build(args, mode):
    if args.arch == "gpt2":
        return GPT(args.n_layer, args.n_head, args.n_embd, args.block_size, args.vocab)
    if mode == "hf":
        return HfLlama(args)
    return Llama(args.n_layer, args.n_head, args.n_kv_head, args.n_embd, args.ffn, args.block_size, args.vocab,
                 args.rope_theta, args.tied)


def adamw_for(model):
    """The fused AdamW wherever this PyTorch has it for the model's device (CUDA; the CPU since 2.4), else the default
    one (before 2.0 there is no such argument; 2.0-2.3 fuse on CUDA only)."""
    settings = dict(lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **settings), "fused"
    except (TypeError, RuntimeError):
        return torch.optim.AdamW(model.parameters(), **settings), "default"


def measure(args, mode):
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build(args, mode).to(device)
    opt, adamw = adamw_for(model)
    step_model = torch.compile(model) if mode == "compile" else model
    idx = torch.randint(args.vocab, (args.batch, args.block_size), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if args.bf16 else torch.autocast("cpu", enabled=False)

    def step():
        with autocast:
            loss = step_model(idx, idx)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    rates = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        sync()
        rates.append(args.steps * args.batch * args.block_size / (time.perf_counter() - t0))
    return {"name": args.name, "mode": mode, "device": args.device, "threads": torch.get_num_threads(),
            "tok_per_s_median": statistics.median(rates), "tok_per_s_min": min(rates),
            "tok_per_s_max": max(rates), "reps": args.reps, "adamw": adamw, "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", default="model")
    for key, default in [("n_layer", 4), ("n_head", 4), ("n_embd", 256), ("block_size", 256), ("vocab", 50304),
                         ("batch", 8), ("warmup", 2), ("reps", 5), ("steps", 1), ("threads", 0), ("n_kv_head", 0),
                         ("ffn", 0)]:
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=int, default=default)
    p.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    p.add_argument("--rope-theta", dest="rope_theta", type=float, default=10000.0)
    p.add_argument("--tied", action="store_true", help="Llama: tie the head to the token embedding")
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--modes", default="eager,compile")
    args = p.parse_args()
    args.n_kv_head = args.n_kv_head or args.n_head
    args.ffn = args.ffn or 4 * args.n_embd
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    for mode in args.modes.split(","):
        try:
            print(json.dumps(measure(args, mode)), flush=True)
        except Exception as e:  # torch.compile needs a C compiler, hf needs transformers; report and go on
            print(json.dumps({"name": args.name, "mode": mode, "error": str(e).splitlines()[0][:200]}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
