#!/usr/bin/env python3
"""Compact per-kernel summary of Nsight Compute raw-page CSVs (`ncu --import R.ncu-rep --csv --page raw`), as
scripts/profile-kernels.sh collects them: launches of the same kernel, grid and block are averaged.

Usage: ncu_summary.py RAW.csv [RAW.csv ...]
Columns: duration, DRAM throughput (% of peak and GB/s read + write), memory and SM throughput (% of peak), achieved
(theoretical) occupancy, registers per thread, L2 hit rate, and the warp stall reasons with the most cycles per
issued instruction.
"""
import csv
import re
import sys
from collections import OrderedDict

SCALE = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6,
         "byte": 1.0, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "Tbyte": 1e12}
STALL = re.compile(r"issue_stalled_(\w+?)_per_(issue_active|warp_active)")


def number(text, unit=""):
    try:
        return float(text.replace(",", "")) * SCALE.get(unit, 1.0)
    except ValueError:
        return None


def rows(path):
    """(header, units, data rows) of one raw CSV; ncu may print lines before the header."""
    with open(path, newline="") as f:
        lines = [r for r in csv.reader(f)]
    start = next((i for i, r in enumerate(lines) if "ID" in r and any("Name" in c for c in r)), None)
    if start is None:
        return [], [], []
    return lines[start], lines[start + 1], lines[start + 2:]


def main(paths):
    groups = OrderedDict()
    for path in paths:
        header, units, data = rows(path)
        col = {h: i for i, h in enumerate(header)}
        name = next((c for c in ("Kernel Name", "Function Name", "Demangled Name") if c in col), None)
        if name is None:
            print(f"{path}: no kernel rows")
            continue

        def get(r, *metrics):  # the first of these names (they differ between ncu versions) that was collected
            for metric in metrics:
                i = col.get(metric)
                if i is not None and i < len(r):
                    return number(r[i], units[i] if i < len(units) else "")
            return None

        for r in data:
            if len(r) < len(header) // 2:
                continue
            key = (r[col[name]], r[col["Grid Size"]] if "Grid Size" in col else "", r[col["Block Size"]] if "Block Size" in col else "")
            m = {
                "us": get(r, "gpu__time_duration.sum"),
                "dram%": get(r, "gpu__dram_throughput.avg.pct_of_peak_sustained_elapsed", "dram__throughput.avg.pct_of_peak_sustained_elapsed"),
                "bytes": sum(v for v in (get(r, "dram__bytes_read.sum"), get(r, "dram__bytes_write.sum")) if v is not None),
                "mem%": get(r, "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed"),
                "sm%": get(r, "sm__throughput.avg.pct_of_peak_sustained_elapsed"),
                "occ%": get(r, "sm__warps_active.avg.pct_of_peak_sustained_active"),
                "theo%": get(r, "sm__maximum_warps_per_active_cycle_pct"),
                "regs": get(r, "launch__registers_per_thread"),
                "l2hit%": get(r, "lts__t_sector_hit_rate.pct"),
            }
            for h, i in col.items():
                s = STALL.search(h)
                if s and "not_issued" not in h:
                    v = number(r[i]) if i < len(r) else None
                    if v is not None:
                        m["stall:" + s.group(1)] = m.get("stall:" + s.group(1), 0.0) + v
            groups.setdefault(key, []).append(m)

    print(f"{'kernel':<18} {'grid':>14} {'block':>12} {'n':>2} {'us':>8} {'DRAM%':>6} {'GB/s':>6} {'mem%':>5} {'SM%':>5} "
          f"{'occ%':>5} {'(theo)':>6} {'regs':>4} {'L2hit':>5}  top stalls (cycles per issued instruction)")
    for (kernel, grid, block), ms in groups.items():
        def avg(k):
            vs = [m[k] for m in ms if m.get(k) is not None]
            return sum(vs) / len(vs) if vs else None

        def fmt(v, w, p=0):
            return f"{'-':>{w}}" if v is None else f"{v:>{w}.{p}f}"

        us, nbytes = avg("us"), avg("bytes")
        gbps = nbytes / (us * 1e3) if us and nbytes else None
        stalls = sorted(((k[6:], avg(k)) for k in ms[0] if k.startswith("stall:")), key=lambda kv: -(kv[1] or 0))
        top = ", ".join(f"{k} {v:.1f}" for k, v in stalls[:4]) if stalls else "no stall metrics"
        print(f"{kernel[:18]:<18} {grid:>14} {block:>12} {len(ms):>2} {fmt(us, 8, 1)} {fmt(avg('dram%'), 6, 1)} {fmt(gbps, 6)} "
              f"{fmt(avg('mem%'), 5, 1)} {fmt(avg('sm%'), 5, 1)} {fmt(avg('occ%'), 5, 1)} {fmt(avg('theo%'), 6, 1)} "
              f"{fmt(avg('regs'), 4)} {fmt(avg('l2hit%'), 5, 1)}  {top}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
