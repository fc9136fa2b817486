#!/usr/bin/env bash
# Packs what a schedule-experiment call on the GPU machine needs into .devpack/ (ignored by git; carry it):
# the Java runtime (.jrt, compressed), the jar, the texts to tokenize, and the finished runs brought back so far.
#   scripts/device-pack.sh TEXT_DIR [RUNS_TARBALL...]   (e.g. docs/results/schedule-gpu/runs*.tar.xz, and/or the
#   runs.tar.xz.part-* a call brought back, in order)
# An archive tracked in this repository travels with the checkout anyway: only its path is listed (.devpack/runs.list),
# which keeps a call under the 64 MiB a device call takes. Any other file is joined, in order, into .devpack/runs.tar.
set -euo pipefail
cd "$(dirname "$0")/.."
texts="${1:?usage: scripts/device-pack.sh TEXT_DIR [RUNS_TARBALL...]}"
[ -d .jrt ] || { echo "no .jrt: build it first (a jlink'ed Java 25 runtime)" >&2; exit 2; }
grep -qx '/.devpack/' .git/info/exclude 2>/dev/null || echo '/.devpack/' >> .git/info/exclude
rm -rf .devpack && mkdir -p .devpack/texts
tar -cJf .devpack/jrt.tar.xz .jrt
cp target/gns4j.jar .devpack/
cp "$texts"/*.txt.xz .devpack/texts/
for f in "${@:2}"; do
    if git ls-files --error-unmatch -- "$f" > /dev/null 2>&1; then echo "$f" >> .devpack/runs.list
    else cat "$f" >> .devpack/runs.tar; fi
done
du -sh .devpack
