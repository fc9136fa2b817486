#!/usr/bin/env python3
"""Check scripts/torch_gns_stats.py on a small model, on the CPU.

    python3 scripts/check_torch_gns_stats.py OUT.jsonl

Builds a model with numbered blocks (Linear, LayerNorm) and a head, draws a few random batches, writes their
statistics with write_stats to OUT.jsonl, and recomputes every group's S and G from per-example gradients taken one
example at a time with plain autograd. Exit status 0 when the two agree and the groups are the expected ones.
"""
import io
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_gns_stats import default_groups, write_stats  # noqa: E402


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return x + torch.tanh(self.fc(self.norm(x)))


class Net(nn.Module):
    def __init__(self, width=6, classes=3):
        super().__init__()
        self.blocks = nn.ModuleList([Block(width), Block(width)])
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x)


def loss_fn(logits, y):
    return nn.functional.cross_entropy(logits, y)


def reference(model, x, y, groups):
    """{group: (S, G)} from a loop of single-example backward passes, in float64."""
    params = dict(model.named_parameters())
    per_example = []
    for b in range(x.shape[0]):
        grads = torch.autograd.grad(loss_fn(model(x[b:b + 1]), y[b:b + 1]), list(params.values()))
        per_example.append({n: g.double() for n, g in zip(params, grads)})
    B = len(per_example)
    out = {}
    for gid, members in groups.items():
        s = sum(sum(g[n].square().sum().item() for n in members) for g in per_example) / B
        gb = sum((sum(g[n] for g in per_example) / B).square().sum().item() for n in members)
        out[gid] = (s, gb)
    return out


def main(out_file):
    torch.manual_seed(0)
    model = Net()
    batches = [(torch.randn(b, 6), torch.randint(0, 3, (b,))) for b in (5, 8, 8)]
    groups = default_groups(model)
    expected_ids = ["total", "ln", "type/LayerNorm", "type/Linear", "layer/blocks.0", "layer/blocks.1", "layer/head"]
    expected_ids += ["tensor/" + n for n, _ in model.named_parameters()]
    if list(groups) != expected_ids:
        print("groups:", list(groups), "expected:", expected_ids)
        return 1
    text = io.StringIO()
    write_stats(model, loss_fn, batches, text, micro_batch=3)
    lines = [json.loads(line) for line in text.getvalue().splitlines()]
    worst = 0.0
    for (x, y), line in zip(batches, lines):
        if line["batch_size"] != x.shape[0]:
            print("batch_size", line["batch_size"], "for a batch of", x.shape[0])
            return 1
        for gid, (s, gb) in reference(model, x, y, groups).items():
            got = line["groups"][gid]
            for a, b in ((got["pe_sq_mean"], s), (got["grad_sq"], gb)):
                worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
    if len(lines) != len(batches) or worst > 1e-5:
        print(f"{len(lines)} lines for {len(batches)} batches; largest relative difference {worst:.2e}")
        return 1
    with open(out_file, "w") as f:
        f.write(text.getvalue())
    print(f"vmap statistics agree with per-example autograd (largest relative difference {worst:.1e}); wrote {out_file}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
