#!/usr/bin/env python3
"""Check an event file from `gns4j export tensorboard` with TensorBoard's own reader.

    python3 scripts/check_tensorboard_export.py EVENT_FILE RUN_DIR/metrics.jsonl

Loads EVENT_FILE with tensorboard's EventAccumulator (the loader TensorBoard's UI uses) and compares every scalar of
every step with metrics.jsonl: the same tags, the same steps, each value equal to the logged number rounded to
float32. Needs the tensorboard package (TensorFlow is not needed). Exit status 0 when everything agrees.
"""
import json
import struct
import sys

SCALARS = ["loss", "val_loss", "lr", "batch_size", "tok_per_s", "grad_norm", "gns_total", "gns_ln"]
GROUPS = ["gns_type", "gns_layer"]


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def expected_values(metrics_file):
    """tag -> {step: value} from metrics.jsonl; a step logged twice (a resumed run) keeps its later line."""
    out = {}
    with open(metrics_file) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "event" in rec or not isinstance(rec.get("step"), int):
                continue
            step = rec["step"]
            pairs = [(k, rec.get(k)) for k in SCALARS]
            for g in GROUPS:
                pairs += [(g + "/" + name, v) for name, v in (rec.get(g) or {}).items()]
            for tag, v in pairs:
                if isinstance(v, (int, float)):
                    out.setdefault(tag, {})[step] = float32(v)
    return out


def main(event_file, metrics_file):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator, SCALARS as KIND

    acc = EventAccumulator(event_file, size_guidance={KIND: 0})  # 0: keep every event
    acc.Reload()
    got = {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()[KIND]}
    want = expected_values(metrics_file)
    problems = []
    for tag in sorted(set(got) | set(want)):
        g, w = got.get(tag, {}), want.get(tag, {})
        if set(g) != set(w):
            problems.append(f"{tag}: steps {sorted(set(g) ^ set(w))[:5]} in only one of the two")
        problems += [f"{tag} step {s}: {g[s]} in the event file, {w[s]} logged" for s in sorted(set(g) & set(w)) if g[s] != w[s]]
    if problems:
        print(f"{len(problems)} difference(s):", *problems[:20], sep="\n  ")
        return 1
    steps = len({s for v in want.values() for s in v})
    print(f"TensorBoard reads {len(got)} tags over {steps} steps; all values agree with {metrics_file}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
