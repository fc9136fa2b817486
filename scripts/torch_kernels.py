#!/usr/bin/env python3
"""PyTorch side of `./gns4j bench kernels`: F.layer_norm forward + backward (fp32 x, weight and bias; dy fp32; the
gradients of x, weight and bias, no per-example norms), then F.rms_norm (weight only), over ROWS rows of each C, timed
with CUDA events.

Prints one JSON object per op and C on stdout: {"op": "layer_norm" | "rms_norm", "rows": R, "C": C, "ms": median, "reps": k}

With --attention H:KVH,...: causal F.scaled_dot_product_attention (bf16, B x H x T x D queries over KVH key/value
heads, enable_gqa when KVH < H) under each back-end (flash, cudnn), forward alone and forward + backward timed; one
object per (heads, back-end): {"op": "attention", "heads": H, "kv_heads": KVH, "backend": b, "fwd_ms": f,
"bwd_ms": (fwd+bwd) - fwd} or, where the back-end refuses the shape, {"op": "attention", ..., "error": "..."}.
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=16384)
    ap.add_argument("--channels", default="768,1024,2048,4096,8192")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--attention", default="", help="H:KVH,... head configurations for the attention rows (none: skip)")
    ap.add_argument("--attn-batch", type=int, default=8)
    ap.add_argument("--attn-seq", type=int, default=2048)
    ap.add_argument("--head-size", type=int, default=64)
    a = ap.parse_args()
    for op, c in [(op, c) for op in ("layer_norm", "rms_norm") for c in map(int, a.channels.split(","))]:
        x = (torch.rand(a.rows, c, device="cuda") * 2 - 1).requires_grad_()
        w = (torch.rand(c, device="cuda") * 2 - 1).requires_grad_()
        b = (torch.rand(c, device="cuda") * 2 - 1).requires_grad_()
        dy = torch.rand(a.rows, c, device="cuda") * 2 - 1
        if op == "layer_norm":
            step = lambda: torch.autograd.grad(F.layer_norm(x, (c,), w, b, 1e-5), (x, w, b), dy)
        else:
            step = lambda: torch.autograd.grad(F.rms_norm(x, (c,), w, 1e-5), (x, w), dy)
        print(json.dumps({"op": op, "rows": a.rows, "C": c, "ms": timed(step, a.warmup, a.reps), "reps": a.reps}), flush=True)
        del x, w, b, dy
        torch.cuda.empty_cache()
    for spec in filter(None, a.attention.split(",")):
        heads, kv = map(int, spec.split(":"))
        for backend in ("flash", "cudnn"):
            row = {"op": "attention", "heads": heads, "kv_heads": kv, "backend": backend, "batch": a.attn_batch,
                   "seq": a.attn_seq, "head_size": a.head_size}
            try:
                row.update(attention_ms(a, heads, kv, backend))
            except Exception as e:  # a back-end that does not take this shape (e.g. grouped-query heads) says why
                row["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:200]
            print(json.dumps(row), flush=True)
            torch.cuda.empty_cache()


def timed(fn, warmup, reps):
    """Median milliseconds of fn over reps runs after warmup, each timed by CUDA events."""
    times = []
    for i in range(warmup + reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(start.elapsed_time(end))
    return statistics.median(times)


def attention_ms(a, heads, kv, backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    kind = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend]
    B, T, D = a.attn_batch, a.attn_seq, a.head_size
    q = torch.randn(B, heads, T, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(B, kv, T, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(B, kv, T, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    dout = torch.randn(B, heads, T, D, device="cuda", dtype=torch.bfloat16)
    gqa = {"enable_gqa": True} if kv != heads else {}
    with sdpa_kernel([kind]):
        def forward():
            with torch.no_grad():
                F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)

        def both():
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, **gqa)
            torch.autograd.grad(y, (q, k, v), dout)

        fwd = timed(forward, a.warmup, a.reps)
        total = timed(both, a.warmup, a.reps)
    return {"fwd_ms": fwd, "bwd_ms": total - fwd, "reps": a.reps}


if __name__ == "__main__":
    main()
