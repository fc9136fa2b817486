"""Per-example gradient norms by torch.func (float64) on the weights and batch that `gns4j check export DIR
[--arch llama]` wrote, compared with the CUDA backend's and the CPU reference's per-example squared norms.
GPT-2: vmap of grad over the functional model below. Llama: grad of transformers' own LlamaForCausalLM
(torch.func.functional_call, eager attention), one example at a time, so RoPE, grouped-query attention and SwiGLU are
transformers' code, not ours. Prints one row per tensor; exits 1 if any relative error exceeds --tol (CUDA) or 1e-4
(CPU, fp32). Usage: python3 scripts/torch_pe_norms.py DIR [--tol 0.08]"""
import argparse, json, math, os, sys
import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad, vmap


def load(d, name, dtype):
    return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=dtype))


def norm(x, g, b, kind):
    if kind == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), g, b, 1e-5)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g


def example_loss(p, meta, ids, targets):
    """Mean token loss of one example (ids, targets: [T]); p: name -> tensor in Hugging Face GPT-2 names."""
    L, H, C = meta["n_layer"], meta["n_head"], meta["n_embd"]
    kind, T = meta["norm"], ids.shape[0]
    get = lambda n: p.get(n)
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        pre = f"transformer.h.{l}."
        h = norm(x, p[pre + "ln_1.weight"], get(pre + "ln_1.bias"), kind)
        q, k, v = F.linear(h, p[pre + "attn.c_attn.weight"], get(pre + "attn.c_attn.bias")).split(C, dim=-1)
        q, k, v = (t.view(T, H, C // H).transpose(0, 1) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        y = att.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + F.linear(y.transpose(0, 1).reshape(T, C), p[pre + "attn.c_proj.weight"], get(pre + "attn.c_proj.bias"))
        h = norm(x, p[pre + "ln_2.weight"], get(pre + "ln_2.bias"), kind)
        h = F.gelu(F.linear(h, p[pre + "mlp.c_fc.weight"], get(pre + "mlp.c_fc.bias")), approximate="tanh")
        x = x + F.linear(h, p[pre + "mlp.c_proj.weight"], get(pre + "mlp.c_proj.bias"))
    x = norm(x, p["transformer.ln_f.weight"], get("transformer.ln_f.bias"), kind)
    head = p["transformer.wte.weight"] if meta["tied_head"] else p["lm_head.weight"]
    return F.cross_entropy(x @ head.T, targets)


def llama_per_example(params, meta, ids, targets):
    """name -> [B, *shape] per-example gradients of transformers' LlamaForCausalLM with our weights (HF names)."""
    from transformers import LlamaConfig, LlamaForCausalLM
    from torch.func import functional_call
    cfg = LlamaConfig(vocab_size=meta["vocab_size"], hidden_size=meta["n_embd"], intermediate_size=meta["ffn_hidden"],
                      num_hidden_layers=meta["n_layer"], num_attention_heads=meta["n_head"],
                      num_key_value_heads=meta["n_kv_head"], max_position_embeddings=meta["block_size"],
                      rms_norm_eps=1e-5, rope_theta=meta["rope_theta"], tie_word_embeddings=meta["tied_head"],
                      attention_bias=False, mlp_bias=False, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).double().eval()
    missing = set(model.state_dict()) - set(params)
    if missing:
        sys.exit(f"transformers' LlamaForCausalLM has tensors the export lacks: {sorted(missing)}")

    def loss(p, i, t):
        logits = functional_call(model, p, (i[None],)).logits[0]
        return F.cross_entropy(logits, t)

    rows = [grad(loss)(params, ids[b], targets[b]) for b in range(ids.shape[0])]
    return {n: torch.stack([r[n] for r in rows]) for n in params}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--tol", type=float, default=0.08)
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    flat = load(a.dir, "params.f32", np.float32).double()
    params = {t["name"]: flat[t["offset"]:t["offset"] + math.prod(t["shape"])].view(*t["shape"]).clone()
              for t in meta["tensors"]}
    B, T = meta["batch"], meta["seq_len"]
    ids = load(a.dir, "ids.i32", np.int32).long().view(B, T)
    targets = load(a.dir, "targets.i32", np.int32).long().view(B, T)
    n = len(meta["tensors"])
    sq_cuda = load(a.dir, "sq_cuda.f64", np.float64).view(n, B)
    sq_cpu = load(a.dir, "sq_cpu.f64", np.float64).view(n, B)
    if meta.get("arch") == "llama":
        per_example = llama_per_example(params, meta, ids, targets)
    else:
        per_example = vmap(grad(lambda p, i, t: example_loss(p, meta, i, t)), in_dims=(None, 0, 0))(params, ids, targets)
    worst_cuda = worst_cpu = 0.0
    print(f"{'tensor':34s} {'torch.func |g_b|^2 (b=0)':>26s} {'cuda rel err':>13s} {'cpu rel err':>12s}")
    for i, t in enumerate(meta["tensors"]):
        ref = per_example[t["name"]].pow(2).flatten(1).sum(1)
        e_cuda = ((sq_cuda[i] - ref).abs() / ref.abs().clamp_min(1e-30)).max().item()
        e_cpu = ((sq_cpu[i] - ref).abs() / ref.abs().clamp_min(1e-30)).max().item()
        worst_cuda, worst_cpu = max(worst_cuda, e_cuda), max(worst_cpu, e_cpu)
        print(f"{t['name']:34s} {ref[0].item():26.6e} {e_cuda:13.2e} {e_cpu:12.2e}")
    ok = worst_cuda <= a.tol and worst_cpu <= 1e-4
    print(f"worst relative error: cuda {worst_cuda:.2e} (tol {a.tol}), cpu {worst_cpu:.2e} (tol 1e-4): {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
