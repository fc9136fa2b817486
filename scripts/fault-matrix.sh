#!/usr/bin/env bash
# Injects each fault for real and writes the fault matrix (case, command, exit code, first stderr line, what was
# kept, the watched folder's files before and after, byte-compared) to docs/reliability.md. Needs root for the
# size-limited, inode-limited and read-only tmpfs mounts; the cases that need them are left out otherwise.
#   Usage: scripts/fault-matrix.sh [output.md]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/docs/reliability.md}"
g="$root/gns4j"
w="$(mktemp -d)"
trap 'for m in "$w"/full "$w"/ro "$w"/ino; do umount "$m" 2>/dev/null; done; rm -rf "$w"' EXIT
"$g" --help >/dev/null 2>&1 # builds the jar first, so no case sees the build line
tiny=(--set n_layer=1 --set n_head=2 --set n_embd=16 --set block_size=16 --set batch_size=8 --set micro_batch_size=4
      --set threads=1 --set checkpoint_interval=5 --set eval_interval=0)
head -c 200000 "$root/README.md" > "$w/in.txt"
"$g" prepare --input "$w/in.txt" --out-dir "$w/data" --tokenizer byte >/dev/null 2>&1

rows=()
# Files, bytes and a digest of every file under a path (the lock file's pid included), for the before/after column.
disk_state() {
  if [ ! -e "$1" ]; then echo "absent"; return; fi
  local n b d
  n="$(find "$1" -type f | wc -l)"
  b="$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')"
  d="$(file_sums "$1" | sha256sum | cut -c1-8)"
  echo "$n files, $b B, sha256 $d"
}
file_sums() { [ -e "$1" ] && find "$1" -type f -exec sha256sum {} + | sort -k2; }
# case | watched path (relative to W) | kept-check (a shell expression printed as "kept") | command
run_case() {
  local name="$1" watch="$2" kept_cmd="$3"; shift 3
  local cmd="$*" err rc disk_before disk_after sums_before changed
  disk_before="$(cd "$w" && disk_state "$watch")"; sums_before="$(cd "$w" && file_sums "$watch")"
  err="$(cd "$w" && eval "$cmd" 2>&1 >/dev/null)"; rc=$?
  disk_after="$(cd "$w" && disk_state "$watch")"
  changed="$(diff <(printf '%s\n' "$sums_before") <(cd "$w" && file_sums "$watch") | sed -n 's/^[<>] [0-9a-f]*  //p' | sort -u | tr '\n' ' ')"
  local first; first="$(printf '%s\n' "$err" | grep '^gns4j:' | tail -1 | sed "s|$w|W|g")"
  local lines; lines="$(printf '%s\n' "$err" | grep -c 'at [a-z].*(.*java' )"
  local kept; kept="$(cd "$w" && eval "$kept_cmd" 2>&1 | sed "s|$w|W|g")"
  local disk="$watch: unchanged ($disk_before)"
  [ "$disk_before" = "$disk_after" ] || disk="$watch: $disk_before → $disk_after; changed: ${changed:-none}"
  rows+=("| $name | \`$(printf '%s' "$cmd" | sed "s|$w|W|g; s|$g|./gns4j|g; s|\${tiny\[@\]}|TINY|g")\` | $rc | $first | $kept | $disk | $lines |")
}

run_case "out dir under /proc" /proc/gns4j-run 'echo nothing created' \
  "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir /proc/gns4j-run
if mkdir -p "$w/ro" && mount -t tmpfs -o ro,size=1m tmpfs "$w/ro" 2>/dev/null; then
  run_case "out dir on a read-only file system" ro 'ls -A ro | wc -l | sed "s/^/files in the mount: /"' \
    "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir ro/run
fi
if mkdir -p "$w/full" && mount -t tmpfs -o size=256k tmpfs "$w/full" 2>/dev/null; then
  run_case "disk fills during the run (metrics or checkpoint)" full/run \
    'echo "checkpoints: $(ls full/run/checkpoints 2>/dev/null | tr "\n" " ")metrics lines: $(wc -l < full/run/metrics.jsonl)"' \
    "$g" train --data-dir data "\${tiny[@]}" --set max_steps=400 --set checkpoint_interval=20 --out-dir full/run
fi
printf 'hello world' > "$w/bad.json"; python3 -c "print('['*200000)" > "$w/deep.json"
run_case "config is not JSON" r1 'test -e r1 && echo r1 exists || echo nothing written' \
  "$g" train --data-dir data --config bad.json --out-dir r1
run_case "config nested 200k deep" r2 'test -e r2 && echo r2 exists || echo nothing written' \
  "$g" train --data-dir data --config deep.json --out-dir r2
xz -kc "$w/in.txt" | head -c 3000 > "$w/trunc.txt.xz"
run_case "truncated .xz input" p1 'test -e p1 && echo p1 exists || echo nothing written' \
  "$g" prepare --input trunc.txt.xz --out-dir p1 --tokenizer byte
printf '{"text":"a"}\n{bad\n' > "$w/bad.jsonl"
run_case "malformed jsonl line" p2 'test -e p2 && echo p2 exists || echo nothing written' \
  "$g" prepare --input bad.jsonl --out-dir p2 --tokenizer byte
run_case "model too large for memory" r3 'test -e r3 && echo r3 exists || echo nothing written' \
  "$g" train --data-dir data --set n_layer=5000 --out-dir r3
run_case "micro-batch too large for memory" r4 'test -e r4 && echo r4 exists || echo nothing written' \
  "$g" train --data-dir data --set n_embd=512 --set block_size=256 --set micro_batch_size=100000 --set batch_size=100000 --out-dir r4
run_case "model too large for one buffer" r5 'test -e r5 && echo r5 exists || echo nothing written' \
  "$g" train --data-dir data --set n_layer=1000000 --set n_embd=64 --out-dir r5
if ! nvidia-smi >/dev/null 2>&1; then
  run_case "demo on cuda without a GPU" d1 'test -e d1 && echo d1 exists || echo nothing written' \
    "$g" demo --out-dir d1 --set device=cuda
fi
echo "not a model" > "$w/t.txt"
run_case "sample on a text file" t.txt 'echo nothing written' "$g" sample t.txt
"$g" train --data-dir "$w/data" "${tiny[@]}" --set max_steps=6 --out-dir "$w/ok" >/dev/null 2>&1
ck="$(ls -d "$w"/ok/checkpoints/step-* | tail -1)"; truncate -s -10 "$ck/model.safetensors"
before="$(cd "$w/ok" && find . -type f -exec sha256sum {} + | sort | sha256sum)"; mt="$(stat -c %Y.%y "$w/ok/lock")"
run_case "resume from a damaged checkpoint" ok \
  '[ "$(cd ok && find . -type f -exec sha256sum {} + | sort | sha256sum)" = "$before" ] && [ "$(stat -c %Y.%y ok/lock)" = "$mt" ] && echo "every file unchanged, lock included"' \
  "$g" train --resume ok
run_case "non-ASCII path under LC_ALL=C" ünï 'test -e ünï && echo exists || echo nothing written' \
  LC_ALL=C "$g" train --data-dir data --out-dir ünï

# ---- nothing a user owns is overwritten or cut
mkdir -p "$w/mine/checkpoints/step-000002"; echo mine > "$w/mine/config.json"; echo notes > "$w/mine/checkpoints/step-000002/notes.txt"
run_case "out dir holding a user's files" mine 'echo "config.json: $(cat mine/config.json)"' \
  "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir mine
mkdir -p "$w/hf"; cp "$w"/ok/checkpoints/step-000005/{model.safetensors,config.json} "$w/hf/"
run_case "out dir that is the --init-from folder" hf 'ls hf | tr "\n" " "' \
  "$g" train --init-from hf --data-dir data --set max_steps=1 --set threads=1 --out-dir hf
run_case "out dir below a file" t.txt 'echo "t.txt is still a file: $(test -f t.txt && echo yes)"' \
  "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir t.txt/run
if mkdir -p "$w/ino" && mount -t tmpfs -o size=1m,nr_inodes=4 tmpfs "$w/ino" 2>/dev/null; then
  run_case "out dir made half-way (no inodes left)" ino 'echo "folders left in the mount: $(ls -A ino | wc -l)"' \
    "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir ino/a/b/c/d/e
fi
"$g" train --data-dir "$w/data" "${tiny[@]}" --set max_steps=12 --out-dir "$w/m" >/dev/null 2>&1
sed -i '3s/.*/{"step": 3, damaged/' "$w/m/metrics.jsonl"
run_case "damaged metrics line before the checkpoint, on resume" m 'echo "metrics lines: $(wc -l < m/metrics.jsonl)"' \
  "$g" train --resume m
# A finished run of 12 steps (checkpoints 5, 10, 12), its newest checkpoint edited and its checksums made to match.
edited_run() {
  rm -rf "$w/$1"
  "$g" train --data-dir "$w/data" "${tiny[@]}" --set max_steps=12 --out-dir "$w/$1" >/dev/null 2>&1
  python3 - "$(ls -d "$w/$1"/checkpoints/step-* | tail -1)" "$2" <<'PY'
import hashlib, json, struct, sys
ck, edit = sys.argv[1], sys.argv[2]
if edit == "moment shape":  # one AdamW moment of the right size, transposed
    raw = open(ck + "/optimizer.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    name = next(k for k, v in header.items() if k != "__metadata__" and len(v["shape"]) == 2 and v["shape"][0] != v["shape"][1])
    header[name]["shape"].reverse()
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    open(ck + "/optimizer.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
else:
    state = json.load(open(ck + "/state.json"))
    if edit == "seed": state["seed"] += 1
    if edit == "gns groups": state["gns"]["group_ids"] = []
    if edit == "empty config": state["config"] = {}
    if edit == "negative elapsed": state["elapsed_s"] = -1
    json.dump(state, open(ck + "/state.json", "w"))
files = ["model.safetensors", "config.json", "optimizer.safetensors", "state.json"]
with open(ck + "/checksums.sha256", "w") as out:
    for f in files: out.write(hashlib.sha256(open(ck + "/" + f, "rb").read()).hexdigest() + "  " + f + "\n")
PY
}
for edit in "moment shape" "gns groups" "seed" "empty config" "negative elapsed"; do
  edited_run s "$edit"
  case "$edit" in
    "moment shape") what="an AdamW moment transposed";; "gns groups") what="an empty GNS group list";;
    "seed") what="another seed";; "empty config") what="an empty config";; *) what="a negative elapsed time";;
  esac
  run_case "resume from a checkpoint with $what (checksums matching)" s 'echo "metrics lines: $(wc -l < s/metrics.jsonl)"' \
    "$g" train --resume s
done
edited_run s none
run_case "resume to a max_steps below the checkpoint's step" s 'echo "config max_steps: $(grep -o "\"max_steps\": [0-9]*" s/config.json)"' \
  "$g" train --resume s --max-steps 5
"$g" train --data-dir "$w/data" "${tiny[@]}" --set max_steps=4 --out-dir "$w/fin" >/dev/null 2>&1
rm "$w/fin/summary.json"; mkdir -p "$w/fin/summary.json/x"
run_case "summary.json cannot be written (a folder in its place)" fin 'echo "summary.json is a folder: $(test -d fin/summary.json && echo yes)"' \
  "$g" train --resume fin

# ---- bad input that used to end in a stack trace or run out of memory
mkdir -p "$w/hfbad"; cp "$w/hf/model.safetensors" "$w/hfbad/"; sed 's/"n_embd": [0-9]*/"n_embd": 1e99999999999/' "$w/hf/config.json" > "$w/hfbad/config.json"
run_case "Hugging Face config with n_embd 1e99999999999" hfbad 'echo nothing written' "$g" sample hfbad --tokenizer byte
mkdir -p "$w/hfbig"; cp "$w/hf/config.json" "$w/hfbig/"
python3 - "$w/hf/model.safetensors" "$w/hfbig/model.safetensors" <<'PY'
import json, struct, sys, os
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
header["unused.big"] = {"dtype": "F32", "shape": [1 << 29], "data_offsets": [end, end + (4 << 29)]}
text = json.dumps(header).encode(); text += b" " * (-len(text) % 8)
with open(sys.argv[2], "wb") as out:
    out.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
    out.truncate(8 + len(text) + end + (4 << 29))  # 2 GiB of zeros, sparse
PY
run_case "safetensors with a 2 GiB unused tensor" hfbig 'echo nothing written' "$g" sample hfbig --tokenizer byte --max-new-tokens 1
run_case "sample --max-new-tokens 1000000000" m 'echo nothing written' "$g" sample m --max-new-tokens 1000000000
run_case "sample --dump-logits under /proc" m 'echo nothing written' "$g" sample m --dump-logits /proc/x.npy
run_case "sample --threads 40000" m 'echo nothing written' "$g" sample m --threads 40000
run_case "measure --batch-size 1000000" m 'echo nothing written' "$g" measure --data-dir data --init-from m --batch-size 1000000
run_case "train batch_size 100000000" r6 'test -e r6 && echo r6 exists || echo nothing written' \
  "$g" train --data-dir data "\${tiny[@]}" --set batch_size=100000000 --out-dir r6
run_case "train threads 40000" r7 'test -e r7 && echo r7 exists || echo nothing written' \
  "$g" train --data-dir data "\${tiny[@]}" --set threads=40000 --out-dir r7
run_case "tensorboard_dir under /proc" r8 'test -e r8 && echo r8 exists || echo nothing written' \
  "$g" train --data-dir data "\${tiny[@]}" --set tensorboard_dir=/proc/x --out-dir r8
run_case "config /dev/zero" r9 'test -e r9 && echo r9 exists || echo nothing written' \
  "$g" train --data-dir data --config /dev/zero --out-dir r9
printf '{"learning_rate": 1e-3, "learning_rate": 1e-2}' > "$w/twice.json"
run_case "config key given twice" r10 'test -e r10 && echo r10 exists || echo nothing written' \
  "$g" train --data-dir data --config twice.json --out-dir r10
run_case "config file missing" r11 'test -e r11 && echo r11 exists || echo nothing written' \
  "$g" train --data-dir data --config nope.json --out-dir r11
cp -r "$w/data" "$w/kdata"; sed -i 's/"tokenizer": *"byte"/"tokenizer": "klingon"/' "$w/kdata/meta.json"
run_case "unknown tokenizer in meta.json" r12 'test -e r12 && echo r12 exists || echo nothing written' \
  "$g" train --data-dir kdata "\${tiny[@]}" --set max_steps=2 --out-dir r12

{
  echo "# Reliability: the fault matrix"
  echo
  echo "Each row is a fault injected for real by \`scripts/fault-matrix.sh\` (which wrote this file; run it again"
  echo "after changing error handling). W is a scratch folder, TINY a one-layer model. A failure is one line on"
  echo "stderr with exit status 2 (bad input or an environment that refuses the write); \"trace lines\" counts stack"
  echo "trace lines in stderr and must be 0. \"On disk before → after\" byte-compares the case's folder (every file,"
  echo "the lock file with its pid included): a refused command leaves it unchanged. Faults that only a test can"
  echo "inject (a full disk at exactly one write, kills during a checkpoint write) are covered by OutputFaultTest"
  echo "and ResumeTest."
  echo
  echo "| case | command | exit | error line (stderr) | kept / written | on disk before → after | trace lines |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "How well the tests catch wrong results (mutation testing, score per class): [mutation-testing.md](mutation-testing.md)."
} > "$out"
echo "wrote $out"
