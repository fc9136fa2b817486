#!/usr/bin/env python3
"""PyTorch baseline for `./gns4j bench cpu|gpu`: a nanoGPT-style GPT-2 (pre-norm, GELU-tanh MLP, tied head, biases,
SDPA attention), timed for forward + backward + AdamW per optimizer step, the same work the gns4j benchmarks time.
On CUDA use --bf16 (autocast, fp32 master weights) and the fused AdamW, as a PyTorch user would.

Prints one JSON object per measured configuration on stdout:
  {"name": ..., "mode": "eager"|"compile", "device": ..., "threads": n, "tok_per_s_median": x, "tok_per_s_min": ..,
   "tok_per_s_max": .., "reps": k}
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


def measure(args, mode):
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = GPT(args.n_layer, args.n_head, args.n_embd, args.block_size, args.vocab).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1,
                            fused=device.type == "cuda")
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
            "tok_per_s_max": max(rates), "reps": args.reps}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", default="model")
    for key, default in [("n_layer", 4), ("n_head", 4), ("n_embd", 256), ("block_size", 256), ("vocab", 50304),
                         ("batch", 8), ("warmup", 2), ("reps", 5), ("steps", 1), ("threads", 0)]:
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=int, default=default)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--modes", default="eager,compile")
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True
    for mode in args.modes.split(","):
        try:
            print(json.dumps(measure(args, mode)), flush=True)
        except Exception as e:  # torch.compile needs a C compiler; report and go on with the other modes
            print(json.dumps({"name": args.name, "mode": mode, "error": str(e).splitlines()[0][:200]}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
