#!/usr/bin/env bash
# Injects each fault for real and writes the fault matrix (case, command, exit code, first stderr line, what was
# kept) to docs/reliability.md. Needs root for the size-limited and read-only tmpfs mounts; cases that need them
# are marked "not run" otherwise.   Usage: scripts/fault-matrix.sh [output.md]
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/docs/reliability.md}"
g="$root/gns4j"
w="$(mktemp -d)"
trap 'for m in "$w"/full "$w"/ro; do umount "$m" 2>/dev/null; done; rm -rf "$w"' EXIT
"$g" --help >/dev/null 2>&1 # builds the jar first, so no case sees the build line
tiny=(--set n_layer=1 --set n_head=2 --set n_embd=16 --set block_size=16 --set batch_size=8 --set micro_batch_size=4
      --set threads=1 --set checkpoint_interval=5 --set eval_interval=0)
head -c 200000 "$root/README.md" > "$w/in.txt"
"$g" prepare --input "$w/in.txt" --out-dir "$w/data" --tokenizer byte >/dev/null 2>&1

rows=()
# case | command | kept-check (a shell expression printed as "kept")
run_case() {
  local name="$1" kept_cmd="$2"; shift 2
  local cmd="$*" err rc
  err="$(cd "$w" && eval "$cmd" 2>&1 >/dev/null)"; rc=$?
  local first; first="$(printf '%s\n' "$err" | grep '^gns4j:' | tail -1 | sed "s|$w|W|g")"
  local lines; lines="$(printf '%s\n' "$err" | grep -c 'at [a-z].*(.*java' )"
  local kept; kept="$(cd "$w" && eval "$kept_cmd" 2>&1 | sed "s|$w|W|g")"
  rows+=("| $name | \`$(printf '%s' "$cmd" | sed "s|$w|W|g; s|$g|./gns4j|g; s|\${tiny\[@\]}|TINY|g")\` | $rc | $first | $kept | $lines |")
}

run_case "out dir under /proc" 'echo nothing created' \
  "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir /proc/gns4j-run
if mkdir -p "$w/ro" && mount -t tmpfs -o ro,size=1m tmpfs "$w/ro" 2>/dev/null; then
  run_case "out dir on a read-only file system" 'ls -A ro | wc -l | sed "s/^/files in the mount: /"' \
    "$g" train --data-dir data "\${tiny[@]}" --set max_steps=2 --out-dir ro/run
fi
if mkdir -p "$w/full" && mount -t tmpfs -o size=256k tmpfs "$w/full" 2>/dev/null; then
  run_case "disk fills during the run (metrics or checkpoint)" \
    'echo "checkpoints: $(ls full/run/checkpoints 2>/dev/null | tr "\n" " ")metrics lines: $(wc -l < full/run/metrics.jsonl)"' \
    "$g" train --data-dir data "\${tiny[@]}" --set max_steps=400 --set checkpoint_interval=20 --out-dir full/run
fi
printf 'hello world' > "$w/bad.json"; python3 -c "print('['*200000)" > "$w/deep.json"
run_case "config is not JSON" 'test -e r1 && echo r1 exists || echo nothing written' \
  "$g" train --data-dir data --config bad.json --out-dir r1
run_case "config nested 200k deep" 'test -e r2 && echo r2 exists || echo nothing written' \
  "$g" train --data-dir data --config deep.json --out-dir r2
xz -kc "$w/in.txt" | head -c 3000 > "$w/trunc.txt.xz"
run_case "truncated .xz input" 'test -e p1 && echo p1 exists || echo nothing written' \
  "$g" prepare --input trunc.txt.xz --out-dir p1 --tokenizer byte
printf '{"text":"a"}\n{bad\n' > "$w/bad.jsonl"
run_case "malformed jsonl line" 'test -e p2 && echo p2 exists || echo nothing written' \
  "$g" prepare --input bad.jsonl --out-dir p2 --tokenizer byte
run_case "model too large for memory" 'test -e r3 && echo r3 exists || echo nothing written' \
  "$g" train --data-dir data --set n_layer=5000 --out-dir r3
run_case "micro-batch too large for memory" 'test -e r4 && echo r4 exists || echo nothing written' \
  "$g" train --data-dir data --set n_embd=512 --set block_size=256 --set micro_batch_size=100000 --set batch_size=100000 --out-dir r4
run_case "model too large for one buffer" 'test -e r5 && echo r5 exists || echo nothing written' \
  "$g" train --data-dir data --set n_layer=1000000 --set n_embd=64 --out-dir r5
if ! nvidia-smi >/dev/null 2>&1; then
  run_case "demo on cuda without a GPU" 'test -e d1 && echo d1 exists || echo nothing written' \
    "$g" demo --out-dir d1 --set device=cuda
fi
echo "not a model" > "$w/t.txt"
run_case "sample on a text file" 'echo nothing written' "$g" sample t.txt
"$g" train --data-dir "$w/data" "${tiny[@]}" --set max_steps=6 --out-dir "$w/ok" >/dev/null 2>&1
ck="$(ls -d "$w"/ok/checkpoints/step-* | tail -1)"; truncate -s -10 "$ck/model.safetensors"
before="$(cd "$w/ok" && find . -type f -exec sha256sum {} + | sort | sha256sum)"; mt="$(stat -c %Y.%y "$w/ok/lock")"
run_case "resume from a damaged checkpoint" \
  '[ "$(cd ok && find . -type f -exec sha256sum {} + | sort | sha256sum)" = "$before" ] && [ "$(stat -c %Y.%y ok/lock)" = "$mt" ] && echo "every file unchanged, lock included"' \
  "$g" train --resume ok
run_case "non-ASCII path under LC_ALL=C" 'test -e ünï && echo exists || echo nothing written' \
  LC_ALL=C "$g" train --data-dir data --out-dir ünï

{
  echo "# Reliability: the fault matrix"
  echo
  echo "Each row is a fault injected for real by \`scripts/fault-matrix.sh\` (which wrote this file; run it again"
  echo "after changing error handling). W is a scratch folder, TINY a one-layer model. A failure is one line on"
  echo "stderr with exit status 2 (bad input or an environment that refuses the write); \"trace lines\" counts stack"
  echo "trace lines in stderr and must be 0. Faults that only a test can inject (a full disk at exactly one write,"
  echo "kills during a checkpoint write) are covered by OutputFaultTest and ResumeTest."
  echo
  echo "| case | command | exit | error line (stderr) | kept / written | trace lines |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$out"
echo "wrote $out"
