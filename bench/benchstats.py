# SPDX-License-Identifier: GPL-2.0
"""Statistics for the bbml2-lab benchmark reports (standard library only).

Descriptive statistics, the percentile bootstrap, Mann-Whitney U, Welch's
t and Holm-Bonferroni, and the boot-level analysis the reports use: the
boot is the unit (each boot's median is one observation, because all
samples of one boot share one physical placement of page cache and slab),
so a mode's value is the median of its boot medians, its interval a
bootstrap over boots, and a comparison a Mann-Whitney U over boot medians
with a bootstrap interval of the difference and the minimum detectable
effect its boot counts allow.
"""
import math
import random
from statistics import NormalDist

BOOTSTRAP = 2000
SEED = 20250701

def median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        raise ValueError("median of no values")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def mean(xs):
    return sum(xs) / len(xs)


def stddev(xs):
    """Sample standard deviation (n - 1); 0 for one value."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def cov_pct(xs):
    m = mean(xs)
    return 100.0 * stddev(xs) / m if m else float("nan")


def bootstrap_median_ci(xs, level=0.95, n=BOOTSTRAP, seed=SEED):
    """Percentile bootstrap interval of the median (fixed seed: the same
    data always gives the same interval)."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (None, None)
    rng = random.Random(seed)
    k = len(xs)
    meds = sorted(median([xs[rng.randrange(k)] for _ in range(k)]) for _ in range(n))
    lo = meds[int(math.floor((1 - level) / 2 * (n - 1)))]
    hi = meds[int(math.ceil((1 + level) / 2 * (n - 1)))]
    return lo, hi


def _ranks(values):
    """Average ranks (1-based) and the tie groups' sizes."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = r
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _mwu_exact_cdf(n1, n2):
    """Counts of the Mann-Whitney U statistic for sample sizes n1, n2 (no
    ties): counts[u] = number of arrangements giving U = u."""
    # f[j][u] for the current i; recurrence f(i,j,u) = f(i-1,j,u-j) + f(i,j-1,u)
    maxu = n1 * n2
    prev = [[1] + [0] * maxu for _ in range(n2 + 1)]   # i = 0: only U = 0
    for i in range(1, n1 + 1):
        cur = [[1] + [0] * maxu]                        # j = 0: only U = 0
        for j in range(1, n2 + 1):
            row = [0] * (maxu + 1)
            a, b = prev[j], cur[j - 1]
            for u in range(maxu + 1):
                row[u] = (a[u - j] if u >= j else 0) + b[u]
            cur.append(row)
        prev = cur
    return prev[n2]


def mann_whitney_u(x, y):
    """Two-sided Mann-Whitney U test. Returns (U of x, p, method)."""
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("Mann-Whitney U needs two non-empty samples")
    ranks, ties = _ranks(list(x) + list(y))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    if not ties and n1 * n2 <= 2500:
        counts = _mwu_exact_cdf(n1, n2)
        total = sum(counts)
        u = int(round(u1))
        lo = sum(counts[:u + 1]) / total
        hi = sum(counts[u:]) / total
        return u1, min(1.0, 2 * min(lo, hi)), "exact"
    n = n1 + n2
    mu = n1 * n2 / 2
    tie = sum(t ** 3 - t for t in ties)
    var = n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0, "normal"
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
    z = max(z, 0.0)
    p = math.erfc(z / math.sqrt(2))
    # With ties in few boots the normal approximation goes below what any
    # arrangement of n1 + n2 values can give: never report less than the
    # exact test's smallest p (complete separation).
    if n1 * n2 <= 2500:
        p = max(p, min_mwu_p(n1, n2))
    return u1, min(1.0, p), "normal"


def _betacf(a, b, x):
    """Continued fraction for the regularised incomplete beta (Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        de = d * c
        h *= de
        if abs(de - 1) < eps:
            break
    return h


def betainc(a, b, x):
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log(1 - x))
    bt = math.exp(lbt)
    if x < (a + 1) / (a + b + 2):
        return bt * _betacf(a, b, x) / a
    return 1 - bt * _betacf(b, a, 1 - x) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    if df <= 0 or math.isnan(t):
        return float("nan")
    if math.isinf(t):
        return 0.0
    return betainc(df / 2, 0.5, df / (df + t * t))


def welch_t(x, y):
    """Welch's unequal-variance t test: (t, df, two-sided p)."""
    n1, n2 = len(x), len(y)
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's t needs at least two values per sample")
    m1, m2 = mean(x), mean(y)
    v1, v2 = stddev(x) ** 2, stddev(y) ** 2
    se2 = v1 / n1 + v2 / n2
    if se2 == 0:
        return (0.0 if m1 == m2 else math.copysign(math.inf, m1 - m2),
                float(n1 + n2 - 2), 1.0 if m1 == m2 else 0.0)
    t = (m1 - m2) / math.sqrt(se2)
    df = se2 ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    return t, df, t_two_sided_p(t, df)


def holm(pvalues):
    """Holm-Bonferroni adjusted p values, in input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adj[i] = running
    return adj


def describe(xs, seed=SEED):
    """n, median, mean, stddev, CoV %, min, max, bootstrap CI of the median."""
    lo, hi = bootstrap_median_ci(xs, seed=seed)
    return {"n": len(xs), "median": median(xs), "mean": mean(xs),
            "stddev": stddev(xs), "cov_pct": cov_pct(xs),
            "min": min(xs), "max": max(xs), "ci95_lo": lo, "ci95_hi": hi}


# --------------------------------------------------------------------------
# the boot as the unit

def min_mwu_p(n1, n2):
    """The smallest two-sided p an exact Mann-Whitney U can give for n1 and
    n2 observations (complete separation): below alpha or nothing can ever
    be called significant."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))


def bootstrap_delta_ci(base, other, level=0.95, n=BOOTSTRAP, seed=SEED):
    """Percentile bootstrap interval of delta % = 100 (median(base) -
    median(other)) / median(base), each group's values (boot medians)
    resampled on their own: the baseline's uncertainty is in it too."""
    if not base or not other:
        return None, None
    rng = random.Random(seed)
    kb, ko = len(base), len(other)
    ds = []
    for _ in range(n):
        mb = median([base[rng.randrange(kb)] for _ in range(kb)])
        mo = median([other[rng.randrange(ko)] for _ in range(ko)])
        ds.append(100.0 * (mb - mo) / mb if mb else float("nan"))
    ds.sort()
    return (ds[int(math.floor((1 - level) / 2 * (n - 1)))],
            ds[int(math.ceil((1 + level) / 2 * (n - 1)))])


def mde_pct(base, other, alpha=0.05, power=0.8):
    """Minimum detectable effect in % of the baseline: the difference a
    two-sided test at alpha finds with the given power, for these boot counts
    and the pooled between-boot CoV (normal approximation:
    (z(1 - alpha/2) + z(power)) * CoV * sqrt(1/n1 + 1/n2)). None with fewer
    than two values in a group."""
    n1, n2 = len(base), len(other)
    if n1 < 2 or n2 < 2:
        return None
    c1, c2 = cov_pct(base), cov_pct(other)
    pooled = math.sqrt(((n1 - 1) * c1 ** 2 + (n2 - 1) * c2 ** 2) / (n1 + n2 - 2))
    z = NormalDist().inv_cdf
    return (z(1 - alpha / 2) + z(power)) * pooled * math.sqrt(1 / n1 + 1 / n2)


def compare_boots(base, other, alpha=0.05, seed=SEED):
    """Compare two groups of boot medians. Returns medians (of boot medians),
    ratio, delta_pct (+ = other is smaller, i.e. faster for a time), its
    bootstrap CI, the exact/normal Mann-Whitney p over boot medians, the
    smallest p these counts allow, and the MDE."""
    if not base or not other:
        raise ValueError("compare_boots needs two non-empty groups")
    mb, mo = median(base), median(other)
    lo, hi = bootstrap_delta_ci(base, other, seed=seed)
    u, p, method = mann_whitney_u(other, base)
    return {"boots": len(other), "baseline_boots": len(base),
            "median": mo, "baseline_median": mb, "ratio": mo / mb if mb else None,
            "delta_pct": 100.0 * (mb - mo) / mb if mb else None,
            "delta_ci95": [lo, hi], "mwu_u": u, "p_mwu": p, "mwu_method": method,
            "min_p": min_mwu_p(len(base), len(other)),
            "mde_pct": mde_pct(base, other, alpha),
            "ci_excludes_zero": lo is not None and (lo > 0 or hi < 0)}


def split_aa(boots):
    """Boots in run order -> (A, B): alternate boots, so that drift over
    the run lands in both halves alike."""
    return boots[0::2], boots[1::2]


# Page-table layout: bytes per mapping level of the linear map (ptdump).
LEVELS = ("pud", "cont_pmd", "pmd", "cont_pte", "pte")


def layout_of(ptdump_bytes=None, linear_map=None):
    """A comparable layout: fractions of the mapped linear map per level
    (from ptdump), else the kernel's word for the final map (pte/blocks)."""
    if ptdump_bytes:
        total = sum(ptdump_bytes.get(k, 0) for k in LEVELS)
        if total:
            return {k: ptdump_bytes.get(k, 0) / total for k in LEVELS}
    return linear_map


def same_layout(a, b, tolerance=0.01):
    """True when two layouts put the same share of memory at every level
    (within tolerance, default 1 % of the mapped bytes: the kernel image
    alias that keeps its blocks after a repaint is about 4 MiB); None when
    either is unknown. Pairs with the same layout are A/A controls for the
    TLB hypothesis: no significance marks."""
    if a is None or b is None:
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        return all(abs(a[k] - b[k]) <= tolerance for k in LEVELS)
    if isinstance(a, dict) or isinstance(b, dict):
        word = b if isinstance(a, dict) else a
        frac = a if isinstance(a, dict) else b
        dominant = "pte" if frac["pte"] + frac["cont_pte"] >= 1 - tolerance else (
            "blocks" if frac["pud"] + frac["pmd"] + frac["cont_pmd"] >= 1 - tolerance else None)
        return dominant == word
    return a == b


def linear_fit(xs, ys):
    """Least squares y = a + b x: (a, b, R^2); R^2 is None when y is
    constant (and 1.0 when it is fitted exactly)."""
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        raise ValueError("a line needs at least two distinct x")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    r2 = None if ss_tot == 0 else 1 - ss_res / ss_tot
    return a, b, r2
