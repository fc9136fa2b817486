"""Expected numbers for DistributionsTest: the special functions of gns4j-core (Distributions) at many points, tails
included, from SciPy, each checked against mpmath at 50 digits before it is printed.

  normalCdf        scipy.special.ndtr           mpmath.ncdf
  normalQuantile   scipy.special.ndtri          mpmath root of ncdf
  tCdf             scipy.special.stdtr          1 - I_{df/(df+t^2)}(df/2, 1/2) / 2 by mpmath.betainc
  tQuantile        scipy.special.stdtrit        mpmath root of that CDF
  incompleteBeta   scipy.special.betainc        mpmath.betainc(regularized=True)
  logGamma         scipy.special.gammaln        mpmath.loggamma

Run: python3 scripts/distributions_reference.py  (prints the Java arrays pasted into the test)
"""
import mpmath
from scipy import special

mpmath.mp.dps = 50


def agree(value, exact, what):
    """SciPy and mpmath to 1e-12 relative (absolute near 0): a wrong reference fails here, not in the test."""
    exact = float(exact)
    assert abs(value - exact) <= 1e-12 * max(abs(exact), 1e-300) or abs(value - exact) < 1e-300, (what, value, exact)
    return exact


def t_cdf_exact(t, df):
    t, df = mpmath.mpf(t), mpmath.mpf(df)
    tail = mpmath.betainc(df / 2, mpmath.mpf(1) / 2, 0, df / (df + t * t), regularized=True) / 2
    return 1 - tail if t >= 0 else tail


def normal_cdf():
    xs = [-37.5, -30.0, -20.0, -12.0, -8.0, -6.0, -5.0, -4.0, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, -0.1, -1e-3, 0.0,
          1e-3, 0.1, 0.5, 1.0, 1.5, 1.96, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0]
    return [(x, agree(special.ndtr(x), mpmath.ncdf(x), ("ncdf", x))) for x in xs]


def normal_quantile():
    ps = [1e-300, 1e-100, 1e-30, 1e-15, 1e-8, 1e-4, 1e-3, 0.01, 0.02, 0.02425, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4,
          0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.97575, 0.98, 0.99, 0.999, 1 - 1e-6, 1 - 1e-10,
          1 - 1e-15]
    out = []
    for p in ps:
        exact = mpmath.findroot(lambda z: mpmath.ncdf(z) - mpmath.mpf(p), special.ndtri(p)) if p != 0.5 else 0
        out.append((p, agree(special.ndtri(p), exact, ("ndtri", p))))
    return out


def t_cdf():
    points = [(0.0, 1), (0.5, 1), (-0.5, 1), (1.0, 1), (-3.0, 1), (10.0, 1), (-100.0, 1), (1e6, 1), (1.0, 2),
              (-2.0, 2), (2.5, 3), (-0.3, 4.5), (1.5, 5), (-4.0, 5), (2.0, 10), (-6.0, 10), (1.7, 19), (-1.7, 19),
              (3.5, 29), (0.01, 100), (-5.0, 100), (2.0, 1e3), (-8.0, 1e3), (1.0, 1e5), (-3.0, 1e5), (1.3, 1e8)]
    return [(t, df, agree(special.stdtr(df, t), t_cdf_exact(t, df), ("stdtr", t, df))) for t, df in points]


def t_quantile():
    ps = [1e-9, 1e-6, 0.001, 0.01, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999,
          0.9995, 1 - 1e-6]
    dfs = [1, 2, 3, 4.5, 5, 7, 11, 19, 29, 50, 100, 1000, 1e5]
    out = []
    for df in dfs:
        for p in ps:
            if df == 1 and p < 1e-6 or df == 1 and p > 1 - 1e-6:
                continue  # beyond 1e5: nothing the intervals ask for, and the bisection's doubling starts at 1
            value = special.stdtrit(df, p)
            exact = 0 if p == 0.5 else mpmath.findroot(lambda t: t_cdf_exact(t, df) - mpmath.mpf(p), value)
            out.append((p, df, agree(value, exact, ("stdtrit", p, df))))
    return out


def incomplete_beta():
    points = [(0.5, 1, 1), (0.3, 2, 3), (0.7, 2, 3), (0.1, 0.5, 0.5), (0.9, 0.5, 0.5), (0.999, 0.5, 5),
              (0.01, 5, 0.5), (0.2, 0.25, 4), (0.8, 4, 0.25), (0.35, 10, 10), (0.65, 10, 10), (0.5, 50, 50),
              (0.45, 200, 250), (0.6, 200, 250), (0.3, 1000, 2000), (0.999999, 0.5, 0.5), (1e-8, 2, 2),
              (0.9, 500, 0.5), (0.99, 5e4, 0.5), (0.99998, 5e4, 0.5), (0.5, 1e3, 1e3), (0.52, 1e3, 1e3),
              (0.48, 1e3, 1e3), (0.25, 0.1, 0.1), (0.75, 3.5, 0.5)]
    return [(x, a, b, agree(special.betainc(a, b, x), mpmath.betainc(a, b, 0, x, regularized=True),
                            ("betainc", x, a, b))) for x, a, b in points]


def log_gamma():
    xs = [1e-10, 1e-3, 0.05, 0.1, 0.25, 0.3, 0.4999, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.5, 7.0, 10.0, 12.5,
          25.0, 100.0, 500.5, 1e4, 1e6, 1e10]
    return [(x, agree(special.gammaln(x), mpmath.loggamma(x), ("gammaln", x))) for x in xs]


def java_rows(name, rows):
    print(f"    private static final double[][] {name} = {{")
    for row in rows:
        print("            {" + ", ".join(repr(float(v)) for v in row) + "},")
    print("    };")


def main():
    java_rows("NORMAL_CDF", normal_cdf())
    java_rows("NORMAL_QUANTILE", normal_quantile())
    java_rows("T_CDF", t_cdf())
    java_rows("T_QUANTILE", t_quantile())
    java_rows("INCOMPLETE_BETA", incomplete_beta())
    java_rows("LOG_GAMMA", log_gamma())


if __name__ == "__main__":
    main()
