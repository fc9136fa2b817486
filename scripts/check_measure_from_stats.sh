#!/usr/bin/env bash
# `measure --from-stats` on PyTorch's statistics against `measure` on gns4j's own model, same weights, same windows.
#
#   scripts/check_measure_from_stats.sh [NEW_WORK_DIR [KEY=VALUE...]]   (python3 with torch and numpy; transformers
#                                                                        optional)
#
# Trains a small GPT-2 (or what the KEY=VALUE config keys make it, e.g. arch=llama n_kv_head=1) for a few steps on
# the demo text (byte tokens), measures it with `measure --json`, has scripts/torch_gns_stats.py compute the per-batch
# statistics of the same checkpoint on the same windows (by torch.func/functorch per-example gradients), reads them
# back with `measure --from-stats`, and compares every group's GNS, interval bounds, |G|^2 and tr(Sigma). Exit status
# 0 when all agree to 1e-4 (relative).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
shift || true
keys=()
for kv in "$@"; do keys+=(--set "$kv"); done
python="${PYTHON:-python3}"
if [ -n "$(ls -A "$work" 2>/dev/null)" ]; then echo "check_measure_from_stats: $work is not empty" >&2; exit 2; fi
mkdir -p "$work"
cd "$work"
gns4j="$root/gns4j"
"$gns4j" prepare --input "$root/gns4j-app/src/main/resources/gns4j/demo/corpus.txt.xz" --out-dir data --tokenizer byte >/dev/null
"$gns4j" train --device cpu --data-dir data --out-dir run --set max_steps=20 --set n_layer=2 --set n_head=2 \
    --set n_embd=32 --set block_size=32 --set batch_size=8 --set checkpoint_interval=20 --set eval_interval=0 \
    "${keys[@]}" >/dev/null
"$gns4j" measure --device cpu --data-dir data --init-from run --batches 8 --batch-size 8 --top 0 --json > measure.json
seed=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"])' measure.json)
"$python" "$root/scripts/torch_gns_stats.py" --gns4j-run run --windows measure.json --out stats.jsonl --device cpu
"$gns4j" measure --from-stats stats.jsonl --seed "$seed" --json > from-stats.json
"$python" - measure.json from-stats.json <<'EOF'
import json, sys
ours, theirs = (json.load(open(f))["groups"] for f in sys.argv[1:3])
if set(ours) != set(theirs):
    sys.exit(f"FAIL groups differ: only gns4j {sorted(set(ours) - set(theirs))}, only torch {sorted(set(theirs) - set(ours))}")
worst, where = 0.0, None
for group, row in ours.items():
    for key in ("gns", "low", "high", "grad_sq", "trace_sigma"):
        a, b = row[key], theirs[group][key]
        if a is None or b is None:  # undefined (e.g. no interval): both sides must say so
            if a is not b:
                sys.exit(f"FAIL {group} {key}: measure {a}, from-stats {b}")
            continue
        rel = abs(a - b) / max(abs(a), abs(b), 1e-30)
        if rel > worst:
            worst, where = rel, f"{group} {key}: measure {a:.6g}, from-stats {b:.6g}"
print(f"{len(ours)} groups x 5 values; largest relative difference {worst:.2e} ({where})")
sys.exit(0 if worst < 1e-4 else "FAIL: above 1e-4")
EOF
