"""PyTorch nanoGPT-style baseline for `bench gpu`: the 111M config (L10 H12 C768, T 2048, vocab 50304, tied head,
biases), bf16 autocast, flash SDPA, fused AdamW. Prints tokens/s for eager and torch.compile.
Usage: python3 scripts/bench_torch.py [--batch 8] [--steps 10] [--no-compile]"""
import argparse, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

L, H, C, T, V = 10, 12, 768, 2048, 50304


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        B, T_, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T_, H, C // H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T_, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0, 0.02 / math.sqrt(2 * L) if n.endswith("proj.weight") else 0.02)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in self.h:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.float().view(-1, V), targets.view(-1))


def bench(model, opt, x, y, steps):
    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    return dt, loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    x = torch.randint(0, V, (a.batch, T), device="cuda")
    y = torch.randint(0, V, (a.batch, T), device="cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, B={a.batch} T={T}")
    modes = ["eager"] + ([] if a.no_compile else ["compile"])
    for mode in modes:
        model = GPT().cuda()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
        m = torch.compile(model) if mode == "compile" else model
        dt, loss = bench(m, opt, x, y, a.steps)
        print(f"pytorch {mode:8s} {dt * 1e3:8.1f} ms/step {a.batch * T / dt:10.0f} tok/s  loss {loss:.4f}", flush=True)


if __name__ == "__main__":
    main()
