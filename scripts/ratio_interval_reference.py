"""Expected numbers for RatioIntervalReferenceTest: the GNS interval of gns4j-core (RatioInterval) recomputed
independently with NumPy and SciPy on fixed data.

The recipe (docs/design.md, IntervalMethod): the estimate is a ratio of means sum(x) / sum(y), +inf where a sum of
y is not positive.
  bootstrap  R resamples of the n batches with replacement, sorted; bias correction z0 = Phi^-1 of the share of
             resamples below the estimate (a rounding-level difference, 1e-12 relative, counts as a half), kept
             within [0.5/R, 1 - 0.5/R]; acceleration a = sum d^3 / (6 (sum d^2)^1.5), d = mean - leave-one-out
             ratio (0 if one is infinite); expanded quantile z = sqrt(n/(n-1)) t_{1-alpha, n-1}; each end is the
             type-7 quantile of the resamples at Phi(z0 + (z0 + zq) / (1 - a (z0 + zq))), zq = -z and +z, level 0
             or 1 where the denominator is not positive. With no estimate (sum y <= 0): z0 = a = 0.
  jackknife  estimate -/+ t_{1-alpha, n-1} * sqrt((n-1)/n * sum (jack - mean jack)^2); unbounded if the
             estimate or a leave-one-out ratio is undefined.
  batches to halve: from a second stream (seed ^ 0x5DEECE66D), widths w1, w4 of the expanded percentile interval
             over resamples of n and then of 4n batches; p = ln(w1/w4) / ln 4; max(n + 1, ceil(n 2^(1/p))); none
             unless both widths are finite and positive and w4 < w1.

The resample indices must be those Java draws, so java.util.SplittableRandom is reimplemented (SplitMix64 with
Java's bounded nextInt); everything else (sums, quantiles, the normal and t distributions) is NumPy's and SciPy's.
Run: python3 scripts/ratio_interval_reference.py  (prints the Java cases pasted into the test)
"""
import math

import numpy as np
from scipy import stats

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


class SplittableRandom:
    """java.util.SplittableRandom(seed): nextInt() is mix32 of the seed advanced by the golden gamma."""

    def __init__(self, seed):
        self.seed = seed & MASK64

    def next_int(self):
        self.seed = (self.seed + GOLDEN_GAMMA) & MASK64
        z = self.seed
        z = ((z ^ (z >> 33)) * 0x62A9D9ED799705F5) & MASK64
        z = (((z ^ (z >> 28)) * 0xCB24D0A5C88C35B3) & MASK64) >> 32
        return z - (1 << 32) if z >= 1 << 31 else z  # as a signed 32-bit int

    def next_below(self, bound):
        """RandomGenerator.nextInt(bound): a power of two masks; else rejects the over-represented top values."""
        r = self.next_int()
        m = bound - 1
        if bound & m == 0:
            return r & m
        u = (r & 0xFFFFFFFF) >> 1
        while True:
            r = u % bound
            if u + m - r >= 1 << 31:  # Java's int overflow: u + m - r < 0
                u = (self.next_int() & 0xFFFFFFFF) >> 1
                continue
            return r


def ratio(sx, sy):
    return sx / sy if sy > 0 else math.inf


def bootstrap(x, y, m, resamples, rng):
    """Sorted ratios of resampled sums; summed in draw order, as the library does, so ties come out the same."""
    out = np.empty(resamples)
    for r in range(resamples):
        idx = [rng.next_below(len(x)) for _ in range(m)]
        sx = sy = 0.0
        for i in idx:
            sx += x[i]
            sy += y[i]
        out[r] = ratio(sx, sy)
    return np.sort(out)


def quantile(sorted_values, p):
    """Type-7 quantile; next to an infinite order statistic the infinite one (where NumPy would give NaN)."""
    h = p * (len(sorted_values) - 1)
    i = math.floor(h)
    if i >= len(sorted_values) - 1:
        return sorted_values[-1]
    lo, hi = sorted_values[i], sorted_values[i + 1]
    if h == i or lo == hi or math.isinf(lo):
        return lo
    if math.isinf(hi):
        return hi
    return float(np.quantile(sorted_values, p))


def expanded_z(n, alpha):
    return math.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha, n - 1)


def interval(x, y, confidence, method, resamples, seed):
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    sx, sy = math.fsum(x), math.fsum(y)
    estimate = sx / sy if sy > 0 else math.nan
    jack = np.array([ratio(math.fsum(np.delete(x, i)), math.fsum(np.delete(y, i))) for i in range(n)])
    alpha = (1 - confidence) / 2
    detail = None
    if method == "jackknife":
        if math.isnan(estimate) or not np.all(np.isfinite(jack)):
            low, high = -math.inf, math.inf
        else:
            se = math.sqrt((n - 1) / n * np.sum((jack - jack.mean()) ** 2))
            t = stats.t.ppf(1 - alpha, n - 1)
            low, high = estimate - t * se, estimate + t * se
    else:
        boot = bootstrap(list(x), list(y), n, resamples, SplittableRandom(seed))
        z0 = a = 0.0
        if not math.isnan(estimate):
            tie = 1e-12 * abs(estimate)
            below = np.sum(boot < estimate - tie)
            ties = np.sum(np.abs(boot - estimate) <= tie)
            p = np.clip((below + 0.5 * ties) / resamples, 0.5 / resamples, 1 - 0.5 / resamples)
            z0 = stats.norm.ppf(p)
            if np.all(np.isfinite(jack)):
                d = jack.mean() - jack
                s2 = np.sum(d ** 2)
                a = np.sum(d ** 3) / (6 * s2 ** 1.5) if s2 > 0 else 0.0
        z = expanded_z(n, alpha)

        def level(zq):
            denom = 1 - a * (z0 + zq)
            if denom <= 0:
                return 0.0 if zq < 0 else 1.0
            return stats.norm.cdf(z0 + (z0 + zq) / denom)

        levels = level(-z), level(z)
        low, high = quantile(boot, levels[0]), quantile(boot, levels[1])
        beyond = [f"{zq:.4g}" for zq in (-z, z) if a * (z0 + zq) >= 1]
        detail = (f"z0 {z0:.6g}, a {a:.6g}, levels {levels[0]:.6g} {levels[1]:.6g}"
                  + (f", 1 - a (z0 + zq) <= 0 at zq = {beyond[0]}" if beyond else ""))
    return estimate, low, high, batches_to_halve(list(x), list(y), estimate, alpha, resamples, seed), detail


def batches_to_halve(x, y, estimate, alpha, resamples, seed):
    if not math.isfinite(estimate):
        return None
    n = len(x)
    rng = SplittableRandom(seed ^ 0x5DEECE66D)
    widths = []
    for m in (n, 4 * n):
        boot = bootstrap(x, y, m, resamples, rng)
        z = expanded_z(m, alpha)
        widths.append(quantile(boot, stats.norm.cdf(z)) - quantile(boot, stats.norm.cdf(-z)))
    w1, w4 = widths
    if not (0 < w4 < w1 and math.isfinite(w1)):
        return None
    p = math.log(w1 / w4) / math.log(4)
    batches = n * 2 ** (1 / p)
    # A projection within 1e-6 of a whole number would hang on the last digits of the quantiles: choose other data.
    assert abs(batches - round(batches)) > 1e-6, batches
    return max(n + 1, math.ceil(batches))


# (name, x = tr(Sigma) estimates, y = |G|^2 estimates, confidence, method, resamples, seed)
CASES = [
    # twelve batches with a skewed tr(Sigma) and a noisy |G|^2: z0 and a both far from 0
    ("skewed", [31.5, 18.2, 44.0, 25.7, 90.3, 22.1, 27.9, 35.4, 19.8, 61.2, 28.8, 24.6],
     [1.10, 0.62, 1.45, 0.35, 2.20, 0.91, 0.48, 1.75, 0.83, 0.57, 1.02, 1.31], 0.90, "bootstrap", 2000, 0x6E5),
    ("skewed-95", None, None, 0.95, "bootstrap", 2000, 42),
    ("skewed-jackknife", None, None, 0.90, "jackknife", 2000, 0),
    # three batches: a resample that draws each batch once is the estimate itself (ties at rounding level)
    ("three", [4.0, 9.0, 5.5], [0.3, 0.5, 0.1], 0.80, "bootstrap", 2000, 11),
    ("three-jackknife", None, None, 0.80, "jackknife", 2000, 0),
    # one |G|^2 estimate larger than the sum: leaving it out gives an infinite ratio (a = 0, jackknife open)
    ("negative-gradsq", [12.0, 15.0, 9.0, 14.0, 11.0, 13.0], [2.0, -1.5, 0.2, 0.1, 0.3, 0.1], 0.90, "bootstrap", 500, 3),
    ("negative-gradsq-jackknife", None, None, 0.90, "jackknife", 500, 3),
    # sum of |G|^2 not positive: no estimate, z0 = a = 0, many resamples infinite
    ("undefined", [5.0, 6.0, 5.5, 4.5], [0.5, -0.7, 0.5, -0.7], 0.90, "bootstrap", 500, 5),
    # thirty batches, one far out: a large acceleration
    ("outlier", [10.0] * 29 + [400.0], [1.0] * 29 + [1.1], 0.90, "bootstrap", 500, 9),
    # three skewed batches at 99.9%: a (z0 + z) > 1, so the BCa level of one end is 1 (a > 0) or 0 (a < 0)
    ("beyond-top", [1.0, 1.2, 9.0], [1.0, 1.0, 1.0], 0.999, "bootstrap", 500, 13),
    ("beyond-bottom", [9.0, 8.8, 1.0], [1.0, 1.0, 1.0], 0.999, "bootstrap", 500, 13),
    # a resample with a |G|^2 sum of exactly 0 (and tr(Sigma) sum < 0) is +inf like any other non-positive one
    ("zero-sum", [-1.0, -3.0], [1.0, -1.0], 0.90, "bootstrap", 500, 21),
    # a GNS known to 1e-7: the jackknife's spread must not drown in the rounding of the 1e6-sized ratios
    ("tight", [1e6 * g + d for g, d in zip([0.8, 1.1, 0.95, 1.3, 0.7, 1.05, 0.9, 1.2, 1.0, 0.85],
                                           [0.03, -0.02, 0.05, -0.04, 0.01, 0.0, -0.03, 0.02, 0.04, -0.01])],
     [0.8, 1.1, 0.95, 1.3, 0.7, 1.05, 0.9, 1.2, 1.0, 0.85], 0.90, "jackknife", 500, 0),
    # two resamples: both of 4n batches draw the odd batch equally often, so the projected width is 0 (no answer)
    ("no-width", [2.0, 2.0, 5.0], [1.0, 1.0, 1.0], 0.90, "bootstrap", 2, 17),
    # four resamples only: every one lands above (or below) the estimate, so the bias share is clamped
    ("clamped-low", [1.0, 2.0, 8.0, 3.0, 5.0, 4.0, 7.0, 6.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.90,
     "bootstrap", 4, None),
    ("clamped-high", None, None, 0.90, "bootstrap", 4, None),
]


def fill(cases):
    """A case with None data repeats the previous data."""
    out, x, y = [], None, None
    for name, cx, cy, conf, method, resamples, seed in cases:
        x, y = (cx, cy) if cx is not None else (x, y)
        out.append((name, x, y, conf, method, resamples, seed))
    return out


def clamped_seed(x, y, resamples, above):
    """The first seed whose resamples all fall strictly on one side of the estimate."""
    estimate = math.fsum(x) / math.fsum(y)
    for seed in range(1, 100000):
        boot = bootstrap(x, y, len(x), resamples, SplittableRandom(seed))
        if (above and boot[0] > estimate) or (not above and boot[-1] < estimate):
            return seed
    raise AssertionError("no seed")


def java(v):
    if v is None:
        return "null"
    if math.isnan(v):
        return "Double.NaN"
    if math.isinf(v):
        return "Double.POSITIVE_INFINITY" if v > 0 else "Double.NEGATIVE_INFINITY"
    return repr(float(v))


def main():
    for name, x, y, conf, method, resamples, seed in fill(CASES):
        if seed is None:
            seed = clamped_seed(x, y, resamples, above=name.endswith("low"))
        estimate, low, high, halve, detail = interval(x, y, conf, method, resamples, seed)
        if detail:
            print(f"// {name}: {detail}")
        print(f'new Case("{name}", new double[]{{{", ".join(map(repr, map(float, x)))}}},')
        print(f'        new double[]{{{", ".join(map(repr, map(float, y)))}}}, {conf}, '
              f'IntervalMethod.{method.upper()}, {resamples}, {seed}L,')
        print(f'        {java(estimate)}, {java(low)}, {java(high)}, {"null" if halve is None else halve}),')


if __name__ == "__main__":
    main()
