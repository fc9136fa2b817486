#!/usr/bin/env bash
# Packs what a schedule-experiment call on the GPU machine needs into .devpack/ (ignored by git; carry it):
# the Java runtime (.jrt, compressed), the jar, the texts to tokenize, and the finished runs brought back so far.
#   scripts/device-pack.sh TEXT_DIR [RUNS_TARBALL...]   (e.g. docs/results/schedule-gpu/runs.tar.xz, or the
#   runs.tar.xz.part-* a call brought back: the parts in order, joined here)
set -euo pipefail
cd "$(dirname "$0")/.."
texts="${1:?usage: scripts/device-pack.sh TEXT_DIR [RUNS_TARBALL...]}"
[ -d .jrt ] || { echo "no .jrt: build it first (a jlink'ed Java 25 runtime)" >&2; exit 2; }
grep -qx '/.devpack/' .git/info/exclude 2>/dev/null || echo '/.devpack/' >> .git/info/exclude
rm -rf .devpack && mkdir -p .devpack/texts
tar -cJf .devpack/jrt.tar.xz .jrt
cp target/gns4j.jar .devpack/
cp "$texts"/*.txt.xz .devpack/texts/
[ $# -ge 2 ] && cat "${@:2}" > .devpack/runs.tar
du -sh .devpack
