#!/usr/bin/env python3
"""PyTorch side of `./gns4j bench kernels`: F.layer_norm forward + backward (fp32 x, weight and bias; dy fp32; the
gradients of x, weight and bias, no per-example norms), then F.rms_norm (weight only), over ROWS rows of each C, timed
with CUDA events.

Prints one JSON object per op and C on stdout: {"op": "layer_norm" | "rms_norm", "rows": R, "C": C, "ms": median, "reps": k}
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
    a = ap.parse_args()
    for op, c in [(op, c) for op in ("layer_norm", "rms_norm") for c in map(int, a.channels.split(","))]:
        x = (torch.rand(a.rows, c, device="cuda") * 2 - 1).requires_grad_()
        w = (torch.rand(c, device="cuda") * 2 - 1).requires_grad_()
        b = (torch.rand(c, device="cuda") * 2 - 1).requires_grad_()
        dy = torch.rand(a.rows, c, device="cuda") * 2 - 1
        times = []
        for i in range(a.warmup + a.reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            if op == "layer_norm":
                torch.autograd.grad(F.layer_norm(x, (c,), w, b, 1e-5), (x, w, b), dy)
            else:
                torch.autograd.grad(F.rms_norm(x, (c,), w, 1e-5), (x, w), dy)
            end.record()
            torch.cuda.synchronize()
            if i >= a.warmup:
                times.append(start.elapsed_time(end))
        print(json.dumps({"op": op, "rows": a.rows, "C": c, "ms": statistics.median(times), "reps": a.reps}), flush=True)
        del x, w, b, dy
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
