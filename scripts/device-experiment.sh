#!/usr/bin/env bash
# On the GPU machine (carry .devpack from scripts/device-pack.sh): unpacks the runtime, tokenizes the texts, restores
# the runs finished in earlier calls, runs `experiment schedule` with the given options, and leaves in $OUT the
# finished runs (without checkpoints; metrics without the per-example arrays) and the experiment's tables, packed to
# fit what a device call brings back (at most 8 files of at most 16 MiB): runs.tar.xz.part-aa, -ab, ... (join them
# with cat), tables.tar.xz (results.md/.csv, savings.csv, curves.csv, gns_ln_vs_total.csv, the JSON files, the
# experiment's stdout) and log.txt.
#   scripts/device-experiment.sh CONFIG [experiment options...]
set -uo pipefail
cd "$(dirname "$0")/.."
config="$1"; shift
tar -xJf .devpack/jrt.tar.xz
out_dir=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['out_dir'])" "$config")
data_dir=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['data_dir'])" "$config")
[ -f .devpack/runs.list ] && while read -r f; do tar -xf "$f"; done < .devpack/runs.list   # archives in the checkout
[ -f .devpack/runs.tar ] && tar -xf .devpack/runs.tar   # .gz or .xz: tar detects it
java=(.jrt/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar .devpack/gns4j.jar)
[ -f "$data_dir/train.bin" ] || "${java[@]}" prepare --input .devpack/texts --out-dir "$data_dir" --tokenizer gpt2 2>&1 | tail -2
"${java[@]}" experiment schedule --config "$config" "$@" > "$OUT/results-stdout.md" 2> >(grep -v '^step ' | tee "$OUT/log.txt" >&2)
rc=$?
# What comes back: the finished runs' small files; metrics without the per-example arrays and per-type GNS (unread by the analysis).
python3 - "$out_dir" <<'PY'
import json, os, sys
root = sys.argv[1]
for run in sorted(os.listdir(root)):
    m = os.path.join(root, run, "metrics.jsonl")
    if not os.path.isfile(os.path.join(root, run, "summary.json")) or not os.path.isfile(m):
        continue
    with open(m) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    with open(m, "w") as f:
        for r in lines:
            for k in ("pe_norm_total", "pe_norm_ln", "gns_layer", "pe_examples", "gns_type"):
                r.pop(k, None)
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
runs=$(cd "$out_dir" && ls -d *-seed*/ 2>/dev/null | sed "s#^#$out_dir/#")
[ -n "$runs" ] && tar -cf - --exclude='checkpoints' --exclude='*.html' --exclude='.warmup' --exclude='lock' $runs \
    | xz -T0 -6 | split -b 15M - "$OUT/runs.tar.xz.part-"
mv "$OUT/results-stdout.md" "$out_dir/" 2>/dev/null
(cd "$out_dir" && tar -cJf "$OUT/tables.tar.xz" $(ls *.md *.csv *.json 2>/dev/null))
ls -la "$OUT"
exit $rc
