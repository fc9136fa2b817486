#!/usr/bin/env bash
# Correctness, then timings, then Nsight Compute on the norm and attention kernels, in one GPU-machine call (no Java
# or Maven there: the carried .jrt and jar, as scripts/device.sh). Every step has a timeout, goes on after a failure,
# and tees its log into $OUT (8 files at most come back):
#   check-cuda.log  bench-kernels.log  ncu-runs.log  ncu-norm.csv  ncu-attn.csv  ncu-summary.txt  res-usage.txt  ncu-reps.tar
# Whole run about 6 minutes at most (the timeouts add up to 340 s).
#   device run, carry [".jrt", "target/gns4j.jar"]:  scripts/profile-kernels.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/profile-kernels}"
mkdir -p "$OUT"
tmp="$(mktemp -d)"

step() {  # step SECONDS LOG CMD...: runs CMD with a time limit, output to the console and appended to $OUT/LOG
    local limit="$1" log="$2"
    shift 2
    echo "=== $* (limit ${limit}s)" | tee -a "$OUT/$log"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$OUT/$log"
    local rc=${PIPESTATUS[0]}
    echo "=== exit $rc after $((SECONDS - t0))s: $*" | tee -a "$OUT/$log"
}

NCU="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,driver_version --format=csv,noheader | tee "$OUT/ncu-runs.log"

step 100 check-cuda.log scripts/device.sh check cuda
step 90 bench-kernels.log scripts/device.sh bench kernels

if [ -z "$NCU" ]; then
    echo "ncu not found: no profiles" | tee -a "$OUT/ncu-runs.log"
else
    sections=(--section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats)
    # Norm layer at C 768/2048/4096, both variants: one launch per timed cell (forward alone, backward alone, then both
    # without and with norms), so each (kernel, C) shows up to 3 times.
    step 80 ncu-runs.log "$NCU" --clock-control none --kernel-name regex:'norm_(fwd|bwd)' "${sections[@]}" -f -o "$tmp/ncu-norm" \
        scripts/device.sh bench kernels --channels 768,2048,4096 --no-linear --no-attention --no-torch --warmup 0 --reps 1
    # 111M config (B8 T2048 C768, 12 heads): the first dQ and dK/dV launches of the first backward.
    step 70 ncu-runs.log "$NCU" --clock-control none --kernel-name regex:'attn_bwd' --launch-count 2 "${sections[@]}" -f -o "$tmp/ncu-attn" \
        scripts/device.sh bench gpu --no-torch --warmup 0 --reps 1
    for r in norm attn; do
        [ -f "$tmp/ncu-$r.ncu-rep" ] || continue
        "$NCU" --import "$tmp/ncu-$r.ncu-rep" --csv --page details > "$OUT/ncu-$r.csv"
        "$NCU" --import "$tmp/ncu-$r.ncu-rep" --csv --page raw > "$tmp/ncu-$r-raw.csv"
    done
    python3 scripts/ncu_summary.py "$tmp"/ncu-*-raw.csv | tee "$OUT/ncu-summary.txt"
    tar -cf "$OUT/ncu-reps.tar" -C "$tmp" $(cd "$tmp" && ls *.ncu-rep 2>/dev/null)
fi

# Registers, spills and shared memory of the NVRTC-compiled kernels as the runs above used them (kernel cache).
for f in "$HOME"/.cache/gns4j/*.cubin; do
    echo "== $f"
    cuobjdump -res-usage "$f" 2>&1 | grep -A1 -E "Function (norm_|attn_)"
done > "$OUT/res-usage.txt"
rm -rf "$tmp"
ls -la "$OUT"
