"""The drift statistics, computed from profiles (counts, bins, sketches).

- PSI (population stability index) and the Jensen-Shannon distance compare binned
  distributions: the reference's quantile bins for numeric columns, the categories for
  categorical ones.
- The two-sample Kolmogorov-Smirnov statistic ``D = max_x |F_ref(x) - F_cur(x)|`` is
  computed exactly from the per-value counts of both samples (the empirical CDFs only
  jump at observed values, so the maximum over the distinct values of both samples is
  the supremum); it equals ``scipy.stats.ks_2samp``'s statistic bit for bit. Without
  exact counts it is estimated from the two quantile sketches, with an error bound.
- The p-value of D is always Smirnov's asymptotic distribution, as
  ``scipy.stats.ks_2samp(method="asymp")`` computes it: ``kstwo.sf(D, round(n1 n2 /
  (n1 + n2)))``. (scipy's default ``method="auto"`` switches to an exact computation
  below 10 000 rows, which would make the p-value depend on the data size regime.)
- Categories get Pearson's chi-squared test of homogeneity on the 2 x K table of
  reference and current counts (``scipy.stats.chi2_contingency``, no continuity
  correction), which also accepts categories unseen in the reference.
"""

from __future__ import annotations

import math

import numpy as np

from scaleml.preprocessing._sketch import QuantileSketch

__all__ = [
    "PSI_EPSILON",
    "chi2_test",
    "js_distance",
    "ks_from_counts",
    "ks_from_sketches",
    "ks_pvalue",
    "psi",
]

#: Floor of a bin's fraction in PSI: an empty bin would make the index infinite.
PSI_EPSILON = 1e-4


def _fractions(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else np.full(counts.shape, np.nan)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index ``sum_i (q_i - p_i) ln(q_i / p_i)``.

    ``p`` and ``q`` are the bin fractions of the reference and the current data, each
    floored at `epsilon` so that an empty bin gives a large but finite index.

    Examples
    --------
    >>> round(psi([50, 50], [40, 60]), 6)
    0.040547
    """
    p, q = _fractions(ref_counts), _fractions(cur_counts)
    if np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two binned distributions.

    Examples
    --------
    >>> js_distance([1, 0], [0, 1])
    1.0
    """
    from scipy.spatial.distance import jensenshannon

    p, q = _fractions(ref_counts), _fractions(cur_counts)
    if np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    return float(min(1.0, jensenshannon(p, q, base=2.0)))


def _cdf_counts(values: np.ndarray, counts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Number of values ``<= at`` (integers) from sorted distinct values and counts."""
    cum = np.concatenate([[0], np.cumsum(counts)])
    return cum[np.searchsorted(values, at, side="right")]


def ks_from_counts(
    ref_values: np.ndarray, ref_counts: np.ndarray, cur_values: np.ndarray, cur_counts: np.ndarray
) -> float:
    """Exact two-sample KS statistic from the distinct values and counts of both samples.

    Memory is O(distinct values). The CDFs are evaluated as ``count / n`` at every
    distinct value of either sample, the same floating-point operations as
    ``scipy.stats.ks_2samp``, so the statistic is identical.

    Examples
    --------
    >>> ks_from_counts(np.array([1.0, 2.0]), np.array([1, 1]), np.array([2.0]), np.array([1]))
    0.5
    """
    n1, n2 = int(np.sum(ref_counts)), int(np.sum(cur_counts))
    if n1 == 0 or n2 == 0:
        return math.nan
    at = np.union1d(ref_values, cur_values)
    cdf1 = _cdf_counts(ref_values, ref_counts, at) / n1
    cdf2 = _cdf_counts(cur_values, cur_counts, at) / n2
    diff = cdf1 - cdf2
    return float(max(np.clip(-diff.min(), 0, 1), diff.max()))


def ks_from_sketches(
    ref: QuantileSketch, cur: QuantileSketch, delta: float = 0.01
) -> tuple[float, float]:
    """Estimated KS statistic from two quantile sketches, and its error bound.

    The CDFs are the sketches' rank estimates at every value either sketch retained.
    Each estimated rank is within the sketch's a-posteriori rank-error bound of the
    truth with probability ``1 - delta / m`` (``m`` evaluation points, a union bound),
    so ``|D_est - D|`` is at most the sum of the two bounds with probability about
    ``1 - 2 delta``.

    Returns
    -------
    statistic, error_bound : float
    """
    if not ref.n or not cur.n:
        return math.nan, math.nan
    at = np.union1d(ref.weighted_items()[0], cur.weighted_items()[0])
    diff = np.asarray(ref.rank(at)) - np.asarray(cur.rank(at))
    d = float(np.abs(diff).max())
    m = max(1, at.size)
    bound = ref.normalized_rank_error(delta / m) + cur.normalized_rank_error(delta / m)
    return d, float(bound)


def ks_pvalue(statistic: float, n1: int, n2: int) -> float:
    """Two-sided p-value of a two-sample KS statistic, Smirnov's asymptotic formula.

    Exactly what ``scipy.stats.ks_2samp(..., method="asymp")`` returns.

    Examples
    --------
    >>> round(ks_pvalue(0.5, 10, 10), 4)
    0.112
    """
    from scipy.stats import kstwo

    if math.isnan(statistic) or n1 == 0 or n2 == 0:
        return math.nan
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(kstwo.sf(statistic, np.round(en)), 0.0, 1.0))


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity of two category count vectors (aligned).

    Categories absent from both samples are left out. One category gives statistic 0
    and p-value 1; an empty sample gives NaN.

    Examples
    --------
    >>> stat, p = chi2_test(np.array([50, 50]), np.array([50, 50]))
    >>> stat, p
    (0.0, 1.0)
    """
    from scipy.stats import chi2_contingency

    table = np.vstack([ref_counts, cur_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 0 or table.sum(axis=1).min() == 0:
        return math.nan, math.nan
    if table.shape[1] == 1:
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)
