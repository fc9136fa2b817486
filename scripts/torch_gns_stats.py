#!/usr/bin/env python3
"""Per-batch gradient statistics of a PyTorch model, for `gns4j measure --from-stats` (docs/gns-stats-format.md).

For each batch of B examples and each group of parameters it writes S, the mean over the examples of the squared
norm of an example's own gradient, and G, the squared norm of the batch's mean gradient: one JSON line per batch.
Per-example gradients come from torch.func (vmap over the gradient of one example's loss), a chunk of examples at a
time. Groups: "total" (every parameter), "ln" (parameters of normalisation modules), "type/<module class>",
"layer/<block>" and "tensor/<parameter name>".

Any model and data loader, from Python:

    from torch_gns_stats import write_stats
    with open("stats.jsonl", "w") as out:
        write_stats(model, loss_fn, loader, out)   # loader yields (inputs, targets); loss_fn(model(x), y) -> scalar

    ./gns4j measure --from-stats stats.jsonl

A gns4j model (run folders hold Hugging Face GPT-2 or Llama checkpoints), on the windows `measure` drew, with gns4j's group
names, so that the two tables can be compared row by row:

    ./gns4j measure --data-dir DATA --init-from RUN --json > measure.json
    python3 scripts/torch_gns_stats.py --gns4j-run RUN --windows measure.json --out stats.jsonl
    ./gns4j measure --from-stats stats.jsonl --seed SEED    # SEED: measure.json's "seed", for the same intervals

Needs torch (2.x, or 1.13 with functorch); the --gns4j-run mode also needs numpy, and loads the checkpoint into
transformers (GPT2LMHeadModel or LlamaForCausalLM) where it is installed, else into the plain-PyTorch models of
reference_models.py (the same parameter names and math).
"""
import argparse
import json
import re
import sys
from collections import OrderedDict


def default_groups(model):
    """Group id -> parameter names, for any model; ids in first-appearance order, as the table lists them.

    A parameter belongs to the module that owns it; "ln" holds those of modules whose class name contains "norm"
    (LayerNorm, RMSNorm, BatchNorm2d, ...); "layer/<path>" is the path up to the first numbered component
    (transformer.h.3, model.layers.0, layer1.2), or the owning module's path outside numbered blocks.
    """
    owner = {}
    for path, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            owner.setdefault(f"{path}.{name}" if path else name, (path, module))
    groups = OrderedDict([("total", []), ("ln", [])])
    kinds, layers, tensors = OrderedDict(), OrderedDict(), OrderedDict()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        path, module = owner[name]
        kind = type(module).__name__
        parts = path.split(".")
        numbered = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        layer = ".".join(parts[:numbered + 1]) if numbered is not None else (path or name)
        groups["total"].append(name)
        if "norm" in kind.lower():
            groups["ln"].append(name)
        kinds.setdefault("type/" + kind, []).append(name)
        layers.setdefault("layer/" + layer, []).append(name)
        tensors["tensor/" + name] = [name]
    if not groups["ln"]:
        del groups["ln"]
    for part in (kinds, layers, tensors):
        groups.update(part)
    return groups


# gns4j's parameter types (gns4j.model.ParamKind.Group, in its order) by Hugging Face GPT-2 or Llama parameter name.
GNS4J_TYPES = [("embedding", r"^(transformer\.(wte|wpe)|model\.embed_tokens)\."),
               ("attn_qkv", r"\.(attn\.c_attn|self_attn\.(q|k|v)_proj)\."),
               ("attn_proj", r"\.(attn\.c_proj|self_attn\.o_proj)\."), ("mlp_in", r"\.mlp\.(c_fc|gate_proj|up_proj)\."),
               ("mlp_out", r"\.mlp\.(c_proj|down_proj)\."),
               ("norm", r"(\.ln_(1|2|f)|_layernorm|^model\.norm)\."), ("lm_head", r"^lm_head\.")]


def gns4j_groups(model):
    """The groups of `gns4j measure` (gns4j.gns.GnsTracker), for a GPT-2 or Llama model with Hugging Face's parameter
    names: same ids, same order."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    types = OrderedDict((key, []) for key, _ in GNS4J_TYPES)
    layers = OrderedDict()
    for n in names:
        key = next((k for k, pattern in GNS4J_TYPES if re.search(pattern, n)), None)
        if key is None:
            raise ValueError(f"{n}: not a gns4j GPT-2 or Llama parameter")
        types[key].append(n)
        block = re.match(r"^(transformer\.h|model\.layers)\.(\d+)\.", n)
        layer = f"h.{block.group(2)}" if block else "embed" if key == "embedding" else "head"
        layers.setdefault(layer, []).append(n)
    groups = OrderedDict([("total", names), ("ln", types["norm"])])
    groups.update((f"type/{k}", v) for k, v in types.items() if v)
    groups.update((f"layer/{k}", v) for k, v in layers.items())
    groups.update((f"tensor/{n}", [n]) for n in names)
    return groups


def function_transforms():
    """(functional_call, grad_and_value, vmap): torch.func's (PyTorch 2), else functorch's and torch.nn.utils.stateless's
    (PyTorch 1.13, e.g. Debian 12's python3-torch). Both take one dict of parameters and buffers."""
    try:
        from torch.func import functional_call, grad_and_value, vmap
    except ImportError:
        from functorch import grad_and_value, vmap
        from torch.nn.utils.stateless import functional_call
    return functional_call, grad_and_value, vmap


def batch_stats(model, loss_fn, inputs, targets, groups, micro_batch=None):
    """{group: (S, G)} of one batch: S = mean_b |g_b|^2, G = |mean_b g_b|^2 (float64 sums), and the mean loss.

    g_b is the gradient of loss_fn(model(x_b[None]), y_b[None]), example b's own loss; micro_batch examples go
    through vmap at once (default: the whole batch).
    """
    import torch
    functional_call, grad_and_value, vmap = function_transforms()

    trained = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def example_loss(params, x, y):
        return loss_fn(functional_call(model, {**params, **frozen, **buffers}, (x.unsqueeze(0),)), y.unsqueeze(0))

    per_example = vmap(grad_and_value(example_loss), in_dims=(None, 0, 0))
    B = inputs.shape[0]
    if B < 2:
        raise ValueError("a batch needs at least 2 examples")
    chunk = micro_batch or B
    sq_sum = {n: 0.0 for n in trained}  # Σ_b |g_b,n|²
    grad_sum = {n: torch.zeros(p.shape, dtype=torch.float64, device=p.device) for n, p in trained.items()}
    loss_sum = 0.0
    for start in range(0, B, chunk):
        grads, losses = per_example(trained, inputs[start:start + chunk], targets[start:start + chunk])
        loss_sum += losses.double().sum().item()
        for n, g in grads.items():  # g: [examples in chunk, *shape of n]
            sq_sum[n] += torch.sum(g.flatten(1).square(), dtype=torch.float64).item()
            grad_sum[n] += torch.sum(g, dim=0, dtype=torch.float64)
        del grads
    mean_sq = {n: sq_sum[n] / B for n in trained}
    batch_sq = {n: (grad_sum[n] / B).square().sum().item() for n in trained}
    stats = OrderedDict((gid, (sum(mean_sq[n] for n in members), sum(batch_sq[n] for n in members)))
                        for gid, members in groups.items())
    return stats, loss_sum / B


def stats_line(batch_size, stats, tokens_per_example=None, loss=None):
    """One line of the statistics file (docs/gns-stats-format.md)."""
    line = OrderedDict(batch_size=batch_size)
    if tokens_per_example:
        line["tokens_per_example"] = tokens_per_example
    if loss is not None:
        line["loss"] = loss
    line["groups"] = OrderedDict((g, {"pe_sq_mean": s, "grad_sq": gb}) for g, (s, gb) in stats.items())
    return json.dumps(line)


def write_stats(model, loss_fn, batches, out, groups=None, micro_batch=None, tokens_per_example=None):
    """Writes one line per (inputs, targets) batch to the text stream out; returns the number of batches.

    groups: {id: [parameter names]} (default: default_groups(model), which has "total"); the model is put in eval
    mode (no dropout) and its parameters are not changed.
    """
    model.eval()
    groups = groups or default_groups(model)
    count = 0
    for inputs, targets in batches:
        stats, loss = batch_stats(model, loss_fn, inputs, targets, groups, micro_batch)
        out.write(stats_line(inputs.shape[0], stats, tokens_per_example, loss) + "\n")
        out.flush()
        count += 1
    return count


def newest_model_folder(path):
    """A run folder's newest checkpoint (checkpoints/step-NNNNNN), else the folder itself (a checkpoint or HF folder)."""
    import os
    ckpts = os.path.join(path, "checkpoints")
    if os.path.isdir(ckpts):
        steps = sorted((int(m.group(1)), d) for d in os.listdir(ckpts) if (m := re.fullmatch(r"step-(\d{6,10})", d)))
        if not steps:
            sys.exit(f"{path}: the run has no checkpoint yet")
        return os.path.join(ckpts, steps[-1][1])
    return path


def measure_windows(measure_json, data_file=None):
    """The token file, block size and per-batch window offsets of a `gns4j measure --json` output."""
    with open(measure_json) as f:
        m = json.load(f)
    batches = [[] for _ in range(m["batches"])]
    for e in sorted(m["examples"], key=lambda e: (e["batch"], e["index"])):
        batches[e["batch"]].append(e["offset"])
    return data_file or m["data_file"], m["block_size"], batches, m["seed"]


def gns4j_main(args):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.backends.cuda.matmul.allow_tf32 = False  # float32 products, as gns4j computes them
    torch.backends.cudnn.allow_tf32 = False
    folder = newest_model_folder(args.gns4j_run)
    with open(f"{folder}/config.json") as f:
        if not json.load(f).get("gns4j", {}).get("hf_compatible", True):
            sys.exit(f"{folder}: this model (bias or norm settings) has no Hugging Face equivalent")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager")
        implementation = "transformers"
    except ImportError:
        import os
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import reference_models
        model = reference_models.load(folder)
        implementation = "reference_models.py"
    model = model.to(device=device, dtype=torch.float32)
    data_file, T, windows, seed = measure_windows(args.windows, args.data)
    tokens = np.memmap(data_file, dtype=np.uint16, mode="r")

    def batches():
        for offsets in windows:
            rows = np.stack([tokens[o:o + T + 1].astype(np.int64) for o in offsets])
            window = torch.from_numpy(rows).to(device)
            yield window[:, :-1], window[:, 1:]

    def loss_fn(output, targets):  # the mean token loss of one example, as gns4j's per-example gradients use
        return F.cross_entropy(output.logits.flatten(0, 1), targets.flatten())

    with open(args.out, "w") as out:
        n = write_stats(model, loss_fn, batches(), out, gns4j_groups(model), args.micro_batch, T)
    print(f"wrote {n} batches from {folder} ({implementation}) on {device} to {args.out}; compare with "
          f"./gns4j measure --from-stats {args.out} --seed {seed}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gns4j-run", required=True, metavar="PATH",
                    help="gns4j run folder (its newest checkpoint), checkpoint folder, or Hugging Face GPT-2 or Llama folder")
    ap.add_argument("--windows", required=True, metavar="MEASURE_JSON",
                    help="output of `gns4j measure --json`: the token file, block size and every window's offset")
    ap.add_argument("--data", metavar="FILE", help="the token file (default: measure.json's data_file)")
    ap.add_argument("--out", default="stats.jsonl", help="statistics file to write (default: stats.jsonl)")
    ap.add_argument("--micro-batch", type=int, metavar="M", help="examples per vmap call (default: the whole batch)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    gns4j_main(ap.parse_args())
