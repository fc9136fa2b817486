#!/usr/bin/env python3
"""Check gns4j's GPT-2 or Llama against PyTorch/transformers on the same weights and tokens (run on the GPU machine).

Three modes:

  make-fixture OUT_DIR [--arch gpt2|llama --n-layer 2 --n-head 2 --n-kv-head 2 --n-embd 64 --ffn 192
                        --n-positions 64 --vocab-size 50257 --seed 0]
      GPT2LMHeadModel(GPT2Config(...)) or LlamaForCausalLM(LlamaConfig(...)).save_pretrained(OUT_DIR): a random
      Hugging Face folder (model.safetensors + config.json), e.g. a small test fixture to commit. The Llama has
      rms_norm_eps 1e-5 (gns4j's) and an untied head.

  compare MODEL_DIR LOGITS.npy [--atol 1e-4 --rtol 1e-4]
      MODEL_DIR is a folder with model.safetensors + config.json: a Hugging Face GPT-2 folder, or one of our
      checkpoints (RUN/checkpoints/step-000123, which is such a folder). LOGITS.npy and LOGITS.npy.json were written
      by `gns4j sample MODEL_DIR --dump-logits LOGITS.npy ...`. Loads MODEL_DIR with transformers, computes the logits
      of the same tokens and compares; if the sample was greedy (--temperature 0), also compares the continuation
      with PyTorch's greedy continuation (full forward per token, context cropped to n_positions like ours).

  all --java JAVA --jar GNS4J_JAR [--arch gpt2|llama] [--device auto|cpu|cuda] [--work DIR]
      End to end: makes a random GPT-2 (or Llama: grouped-query, 4 heads over 2 kv heads) with the GPT-2
      vocabulary, runs `gns4j sample` on it (greedy, logits dumped) and compares; then fine-tunes it for a few steps
      with `gns4j train --init-from` on a small text (on --device: on the GPU machine auto is CUDA) and compares
      the resulting checkpoint (our export) the same way. JAVA may be the small runtime that docs/cuda.md's jlink
      command makes (.jrt/bin/java, as scripts/device.sh runs it). Exit status 0 when everything agrees.

Needs torch, numpy, transformers.
"""
import argparse
import json
import os
import subprocess
import sys


def is_llama(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f).get("model_type") == "llama"


def load_model(model_dir, device):
    import torch
    from transformers import GPT2LMHeadModel, LlamaForCausalLM
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cls = LlamaForCausalLM if is_llama(model_dir) else GPT2LMHeadModel
    model = cls.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation="eager")
    return model.to(device).eval()


def context_length(config):
    return getattr(config, "n_positions", None) or config.max_position_embeddings


def make_fixture(args):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(args.seed)
    if args.arch == "llama":
        cfg = LlamaConfig(vocab_size=args.vocab_size, hidden_size=args.n_embd, intermediate_size=args.ffn,
                          num_hidden_layers=args.n_layer, num_attention_heads=args.n_head,
                          num_key_value_heads=args.n_kv_head, max_position_embeddings=args.n_positions,
                          rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False,
                          mlp_bias=False)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = GPT2Config(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd, n_positions=args.n_positions,
                         vocab_size=args.vocab_size, layer_norm_epsilon=1e-5, activation_function="gelu_new")
        model = GPT2LMHeadModel(cfg)
    model.save_pretrained(args.out_dir, safe_serialization=True)
    size = os.path.getsize(os.path.join(args.out_dir, "model.safetensors"))
    print(f"wrote {args.out_dir}: model.safetensors ({size:,} bytes) and config.json")


def compare(model_dir, logits_file, atol=1e-4, rtol=1e-4, device=None):
    """Returns True when logits (and a greedy continuation, if any) agree."""
    import numpy as np
    import torch
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    with open(logits_file + ".json") as f:
        meta = json.load(f)
    ours = np.load(logits_file)
    model = load_model(model_dir, device)
    n_positions = context_length(model.config)
    tokens = meta.get("logits_tokens") or meta["prompt_tokens"]
    with torch.no_grad():
        ids = torch.tensor([tokens], device=device)
        theirs = model(ids).logits[0].float().cpu().numpy()
    ok = True
    if theirs.shape != ours.shape:
        print(f"FAIL logits shape: ours {ours.shape}, transformers {theirs.shape}")
        return False
    diff = np.abs(theirs - ours)
    bound = atol + rtol * np.abs(theirs).max()
    worst = np.unravel_index(diff.argmax(), diff.shape)
    status = "ok" if diff.max() <= bound else "FAIL"
    ok &= status == "ok"
    print(f"{status} logits [{ours.shape[0]} x {ours.shape[1]}]: max |diff| {diff.max():.3e} at position {worst[0]}, "
          f"token {worst[1]} (bound {bound:.3e}; |logits| up to {np.abs(theirs).max():.3f}); "
          f"argmax agrees at {int((theirs.argmax(-1) == ours.argmax(-1)).sum())}/{ours.shape[0]} positions")

    generated = meta.get("generated_tokens") or []
    if meta.get("temperature", 1) == 0 and generated:
        allowed = meta.get("allowed_vocab", theirs.shape[1])
        ctx = list(meta["prompt_tokens"])
        mine = []
        near_ties = []
        with torch.no_grad():
            for _ in generated:
                window = ctx[-n_positions:]
                row = model(torch.tensor([window], device=device)).logits[0, -1, :allowed].float()
                top2 = torch.topk(row, 2)
                nxt = int(torch.argmax(row))  # the first maximum, like ours
                if float(top2.values[0] - top2.values[1]) < 1e-4:
                    near_ties.append(len(mine))
                mine.append(nxt)
                ctx.append(nxt)
        same = mine == generated
        first = next((i for i, (a, b) in enumerate(zip(mine, generated)) if a != b), None)
        if same:
            print(f"ok greedy continuation: {len(generated)} tokens identical")
        elif first in near_ties:
            print(f"WARN greedy continuation diverges at token {first}, where the two best logits are within 1e-4 "
                  f"(a tie broken differently by rounding); ours {generated[first]}, transformers {mine[first]}")
        else:
            ok = False
            print(f"FAIL greedy continuation diverges at token {first}: ours {generated[first:first + 8]}, "
                  f"transformers {mine[first:first + 8]}")
    return ok


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def all_checks(args):
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    java = [args.java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-jar", args.jar]
    hf_dir = os.path.join(work, "hf-random-" + args.arch)
    make_fixture(argparse.Namespace(out_dir=hf_dir, arch=args.arch, n_layer=2, n_head=4, n_kv_head=2, n_embd=64,
                                    ffn=192, n_positions=64, vocab_size=50257, seed=0))
    prompt = "The gradient noise scale estimates the critical batch size"
    ok = True

    logits = os.path.join(work, "hf-random.npy")
    # a bare Llama folder names no tokenizer: this one was made for GPT-2's
    tokenizer = ["--tokenizer", "gpt2"] if args.arch == "llama" else []
    run(java + ["sample", hf_dir, "--prompt", prompt, "--temperature", "0", "--max-new-tokens", "40",
                "--dump-logits", logits] + tokenizer)
    print(f"== Hugging Face {args.arch} folder loaded by gns4j")
    ok &= compare(hf_dir, logits)

    # Our export: fine-tune the random model a few steps, then load the checkpoint folder in transformers.
    text = os.path.join(work, "text.txt")
    with open(text, "w") as f:
        for i in range(400):
            f.write(f"Sentence {i}: the quick brown fox jumps over the lazy dog while the batch size grows.\n")
    data = os.path.join(work, "data")
    run(java + ["prepare", "--input", text, "--out-dir", data, "--tokenizer", "gpt2", "--force"])
    run_dir = os.path.join(work, "finetune")
    if os.path.exists(run_dir):
        import shutil
        shutil.rmtree(run_dir)
    run(java + ["train", "--init-from", hf_dir, "--data-dir", data, "--out-dir", run_dir, "--max-steps", "5",
                "--device", args.device, "--set", "block_size=64", "--set", "micro_batch_size=4",
                "--set", "batch_size=8", "--set", "learning_rate=1e-3", "--set", "eval_interval=0"])
    checkpoints = sorted(d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step-"))
    ckpt = os.path.join(run_dir, "checkpoints", checkpoints[-1])
    logits = os.path.join(work, "finetuned.npy")
    run(java + ["sample", ckpt, "--prompt", prompt, "--temperature", "0", "--max-new-tokens", "40",
                "--dump-logits", logits])
    print("== gns4j checkpoint (our safetensors export) loaded by transformers")
    ok &= compare(ckpt, logits)
    print("ALL OK" if ok else "SOME CHECKS FAILED")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("make-fixture")
    m.add_argument("out_dir")
    m.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    m.add_argument("--n-layer", type=int, default=2)
    m.add_argument("--n-head", type=int, default=2)
    m.add_argument("--n-kv-head", type=int, default=2)
    m.add_argument("--n-embd", type=int, default=64)
    m.add_argument("--ffn", type=int, default=192)
    m.add_argument("--n-positions", type=int, default=64)
    m.add_argument("--vocab-size", type=int, default=50257)
    m.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("compare")
    c.add_argument("model_dir")
    c.add_argument("logits")
    c.add_argument("--atol", type=float, default=1e-4)
    c.add_argument("--rtol", type=float, default=1e-4)
    c.add_argument("--device", default=None)
    a = sub.add_parser("all")
    a.add_argument("--java", required=True)
    a.add_argument("--jar", required=True)
    a.add_argument("--work", default="compare-hf-work")
    a.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    a.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = p.parse_args()
    if args.mode == "make-fixture":
        make_fixture(args)
    elif args.mode == "compare":
        sys.exit(0 if compare(args.model_dir, args.logits, args.atol, args.rtol, args.device) else 1)
    else:
        sys.exit(0 if all_checks(args) else 1)


if __name__ == "__main__":
    main()
