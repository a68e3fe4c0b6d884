"""QuantileTransformer: map each feature to a uniform or normal distribution."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from sklearn.utils._param_validation import Interval, StrOptions

from scaleml._validation import Data
from scaleml.preprocessing._quantile import QuantileState, QuantileTransformerBase

__all__ = ["QuantileTransformer", "interp_expr", "ndtri_expr", "ndtri_ref", "segment_expr"]

#: scikit-learn's margin that keeps the normal output finite.
BOUNDS_THRESHOLD = 1e-7

# Wichura's AS 241 (PPND16): the normal quantile to about 1e-16 relative accuracy
# with rational functions, a log and a square root only -- all Polars expressions.
_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


def _poly(coef: tuple[float, ...], x: Any) -> Any:
    """Horner's rule; works on floats, arrays and Polars expressions alike."""
    out = coef[-1]
    for c in coef[-2::-1]:
        out = out * x + c
    return out


def ndtri_expr(p: pl.Expr) -> pl.Expr:
    """The standard normal quantile function of `p` as a Polars expression (AS 241).

    ``p <= 0`` gives ``-inf``, ``p >= 1`` gives ``inf``; NaN and null propagate.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(ndtri_expr(pl.lit(0.975))).item()
    1.959963984540054
    """
    q = p - 0.5
    r_central = 0.180625 - q * q
    central = q * _poly(_A, r_central) / _poly(_B, r_central)
    r = pl.when(q < 0).then(p).otherwise(1.0 - p)
    r = (-r.log()).sqrt()
    near = _poly(_C, r - 1.6) / _poly(_D, r - 1.6)
    far = _poly(_E, r - 5.0) / _poly(_F, r - 5.0)
    tail = pl.when(r <= 5.0).then(near).otherwise(far)
    tail = pl.when(q < 0).then(-tail).otherwise(tail)
    out = pl.when(q.abs() <= 0.425).then(central).otherwise(tail)
    return pl.when(p <= 0.0).then(-np.inf).when(p >= 1.0).then(np.inf).otherwise(out)


def ndtri_ref(p: np.ndarray) -> np.ndarray:
    """NumPy reference of :func:`ndtri_expr` (the same AS 241 arithmetic).

    Examples
    --------
    >>> float(ndtri_ref(np.array([0.5]))[0])
    0.0
    """
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    with np.errstate(all="ignore"):
        rc = 0.180625 - q * q
        central = q * _poly(_A, rc) / _poly(_B, rc)
        r = np.sqrt(-np.log(np.where(q < 0, p, 1.0 - p)))
        near = _poly(_C, r - 1.6) / _poly(_D, r - 1.6)
        far = _poly(_E, r - 5.0) / _poly(_F, r - 5.0)
        tail = np.where(r <= 5.0, near, far)
        tail = np.where(q < 0, -tail, tail)
        out = np.where(np.abs(q) <= 0.425, central, tail)
    return np.where(p <= 0, -np.inf, np.where(p >= 1, np.inf, out))


def interp_expr(
    x: pl.Expr, xp: np.ndarray, fp: np.ndarray, segment: pl.Expr | None = None
) -> pl.Expr:
    """``np.interp(x, xp, fp)`` as a Polars expression (`xp` increasing).

    Same arithmetic as NumPy: the segment ``j`` with ``xp[j] <= x < xp[j + 1]`` (found
    with ``search_sorted``) gives ``slope[j] * (x - xp[j]) + fp[j]``; beyond the ends,
    ``fp[0]`` and ``fp[-1]``. `segment` may give that ``j`` already computed (see
    :func:`segment_expr`), e.g. as a column of an earlier ``with_columns``.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> e = interp_expr(pl.col("x"), np.array([0.0, 1.0, 3.0]), np.array([0.0, 10.0, 20.0]))
    >>> pl.DataFrame({"x": [-1.0, 0.5, 2.0, 5.0]}).select(e).to_series().to_list()
    [0.0, 5.0, 15.0, 20.0]
    """
    xp = np.asarray(xp, dtype=np.float64)
    fp = np.asarray(fp, dtype=np.float64)
    m = len(xp)
    if m == 1:
        return (
            pl.when(x.is_not_null())
            .then(pl.lit(float(fp[0])))
            .otherwise(None)
            .alias(x.meta.output_name())
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = (fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1])
    j = segment_expr(x, xp) if segment is None else segment
    jc = j.clip(0, m - 2)
    inner = pl.lit(pl.Series(slopes)).gather(jc) * (x - pl.lit(pl.Series(xp)).gather(jc)) + pl.lit(
        pl.Series(fp)
    ).gather(jc)
    return pl.when(j < 0).then(float(fp[0])).when(j >= m - 1).then(float(fp[-1])).otherwise(inner)


def segment_expr(x: pl.Expr, xp: np.ndarray) -> pl.Expr:
    """Index of the last ``xp`` at most `x` (``-1`` below ``xp[0]``), as an expression.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> e = segment_expr(pl.col("x"), np.array([0.0, 1.0]))
    >>> pl.DataFrame({"x": [-1.0, 0.0, 0.5, 1.0]}).select(e).to_series().to_list()
    [-1, 0, 0, 1]
    """
    return (
        pl.lit(pl.Series(np.asarray(xp, dtype=np.float64)))
        .search_sorted(x, side="right")
        .cast(pl.Int64)
        - 1
    )


class QuantileTransformer(QuantileTransformerBase):
    """Transform features using quantiles information.

    The scikit-learn estimator of the same name, fitted out-of-core. Each column is
    mapped through its empirical cumulative distribution function, estimated at
    `n_quantiles` points, to a uniform or normal output. While the data has at most
    `subsample` rows (or with ``subsample=None``) the quantiles are exact, one engine
    query for all columns, and equal scikit-learn's. Beyond, where scikit-learn takes
    a random subsample of `subsample` rows, the quantiles come from a mergeable KLL
    sketch per column (:class:`scaleml.preprocessing.QuantileSketch`) at least as
    accurate as that subsample, in bounded memory, deterministically.

    The transform is a Polars expression per column: a ``search_sorted`` on the
    quantiles and linear interpolation, averaged forward and backward (for repeated
    quantiles) as scikit-learn does; the normal quantile function is Wichura's AS 241
    rational approximation (relative error ~1e-16) as an expression.

    Parameters
    ----------
    n_quantiles : int, default=1000
        Number of quantiles to compute (at most the number of rows).
    output_distribution : {"uniform", "normal"}, default="uniform"
    ignore_implicit_zeros : bool, default=False
        Only for sparse input in scikit-learn; True warns and has no effect.
    subsample : int or None, default=10_000
        Rows up to which the quantiles are exact (above: a sketch as accurate as a
        random subsample of this size). None: always exact.
    random_state : int, RandomState instance or None, default=None
        Seed of the sketch's coin flips (None: 0, deterministic).
    copy : bool, default=True
        Kept for compatibility with scikit-learn.
    columns : str, list of str or polars selector, default=None
        Columns to transform; None means every feature column.

    Attributes
    ----------
    n_quantiles_ : int
    quantiles_ : ndarray of shape (n_quantiles_, n_columns)
    references_ : ndarray of shape (n_quantiles_,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from scaleml import QuantileTransformer
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> qt = QuantileTransformer(n_quantiles=5).fit(X)
    >>> qt.quantiles_.ravel()
    array([0.  , 2.25, 4.5 , 6.75, 9.  ])
    >>> qt.transform(np.array([[0.0], [4.5], [9.0]])).ravel()
    array([0. , 0.5, 1. ])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "n_quantiles": [Interval(Integral, 1, None, closed="left")],
        "output_distribution": [StrOptions({"uniform", "normal"})],
        "ignore_implicit_zeros": ["boolean"],
        "subsample": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "copy": ["boolean"],
        "columns": [None, str, list, tuple, pl.Expr],
    }

    def __init__(
        self,
        *,
        n_quantiles: int = 1000,
        output_distribution: str = "uniform",
        ignore_implicit_zeros: bool = False,
        subsample: int | None = 10_000,
        random_state: Any = None,
        copy: bool = True,
        columns: Any = None,
    ) -> None:
        self.n_quantiles = n_quantiles
        self.output_distribution = output_distribution
        self.ignore_implicit_zeros = ignore_implicit_zeros
        self.subsample = subsample
        self.random_state = random_state
        self.copy = copy
        self.columns = columns

    def _check_fit_columns(self, columns: list[str]) -> None:
        if self.subsample is not None and self.n_quantiles > self.subsample:
            msg = (
                "The number of quantiles cannot be greater than the number of samples "
                f"used. Got {self.n_quantiles} quantiles and {self.subsample} samples."
            )
            raise ValueError(msg)
        if self.ignore_implicit_zeros:
            warnings.warn(
                "'ignore_implicit_zeros' takes effect only with sparse matrix. This "
                "parameter has no effect.",
                UserWarning,
                stacklevel=4,
            )

    def _finalize_state(self, state: QuantileState) -> None:
        n_samples = state.rows
        if n_samples == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        if self.n_quantiles > n_samples:
            warnings.warn(
                f"n_quantiles ({self.n_quantiles}) is greater than the total number of "
                f"samples ({n_samples}). n_quantiles is set to n_samples.",
                UserWarning,
                stacklevel=4,
            )
        self.n_quantiles_ = max(1, min(self.n_quantiles, n_samples))
        self.references_ = np.linspace(0, 1, self.n_quantiles_, endpoint=True)
        # scikit-learn passes percentages to np.nanpercentile, which divides by 100.
        qs = np.true_divide(self.references_ * 100, 100)
        # Bit-equal quantiles: the transform averages over tied quantiles, so an ulp
        # (Polars' a + (b - a) t against NumPy's lerp) moves a value sitting on a tie.
        summary, quantiles = state.summary_and_quantiles(
            [qs] * len(self._fit_columns), engine=False
        )
        self._check_summary(summary)
        self.quantiles_ = (
            np.column_stack(quantiles) if quantiles else np.zeros((self.n_quantiles_, 0))
        )

    def _output_exprs(self) -> dict[str, list[pl.Expr]]:
        """Self-contained expressions (``transform`` runs the faster :meth:`_stages`)."""
        stages = self._stages(inline=True)
        if self.output_distribution == "uniform":
            return {c: [stages[1][c]] for c in self._fit_columns}
        clip = self._clip()
        return {
            c: [
                stages[1][c]
                .map_batches(
                    lambda s: pl.Series(s.name, np.clip(ndtri_ref(s.to_numpy()), *clip)),
                    return_dtype=pl.Float64,
                    is_elementwise=True,
                )
                .alias(c)
            ]
            for c in self._fit_columns
        }

    def _clip(self) -> tuple[float, float]:
        clip_min = float(stats.norm.ppf(BOUNDS_THRESHOLD - np.spacing(1)))
        clip_max = float(stats.norm.ppf(1 - (BOUNDS_THRESHOLD - np.spacing(1))))
        return clip_min, clip_max

    def _stages(self, *, inline: bool = False) -> list[dict[str, pl.Expr]]:
        """The transform as successive ``with_columns`` stages.

        A later stage refers to the columns of the earlier ones rather than repeating
        their expressions: the segment search runs once per direction, and the normal
        quantile function (which uses its argument a dozen times) reads a column.
        Temporary columns start with ``__scaleml_qt``; the last stage holds the outputs.
        """
        seg: dict[str, pl.Expr] = {}
        uni: dict[str, pl.Expr] = {}
        out: dict[str, pl.Expr] = {}
        refs = self.references_
        for j, c in enumerate(self._fit_columns):
            q = self.quantiles_[:, j]
            x = pl.col(c).cast(pl.Float64)
            fwd, bwd = f"__scaleml_qt_f{j}", f"__scaleml_qt_b{j}"
            seg[fwd] = segment_expr(x, q).alias(fwd)
            seg[bwd] = segment_expr(-x, -q[::-1]).alias(bwd)
            # Interpolating both ways and averaging puts a repeated quantile's value at
            # the middle of its run of references, as scikit-learn does.
            y = 0.5 * (
                interp_expr(x, q, refs, None if inline else pl.col(fwd))
                - interp_expr(-x, -q[::-1], -refs[::-1], None if inline else pl.col(bwd))
            )
            lo, hi = float(q[0]), float(q[-1])
            if self.output_distribution == "normal":
                lower, upper = x - BOUNDS_THRESHOLD < lo, x + BOUNDS_THRESHOLD > hi
            else:
                lower, upper = x == lo, x == hi
            y = pl.when(lower).then(0.0).when(upper).then(1.0).otherwise(y)
            # Polars orders NaN above every number: keep NaN (and null) out of the
            # comparisons; they come out as they came in.
            uni[c] = pl.when(x.is_null() | x.is_nan()).then(x).otherwise(y).alias(c)
            if self.output_distribution == "normal":
                u = pl.col(c)
                z = ndtri_expr(u).clip(*self._clip())
                out[c] = pl.when(u.is_null() | u.is_nan()).then(u).otherwise(z).alias(c)
        stages = [seg, uni]
        if out:
            stages.append(out)
        return stages

    def _transform_lf(self, data: Data) -> pl.LazyFrame:
        lf = data.lf
        stages = self._stages()
        for stage in stages:
            lf = lf.with_columns(stage.values())
        return lf.drop(stages[0].keys())

    def _inverse_exprs(self) -> dict[str, pl.Expr]:
        """Back-projection to the original space (lazy in, lazy out)."""
        return {
            c: pl.col(c)
            .cast(pl.Float64)
            .map_batches(
                self._inverse_batch(self.quantiles_[:, j]),
                return_dtype=pl.Float64,
                is_elementwise=True,
            )
            for j, c in enumerate(self._fit_columns)
        }

    def _inverse_batch(self, quantiles: np.ndarray) -> Callable[[pl.Series], pl.Series]:
        def inverse(s: pl.Series) -> pl.Series:
            return pl.Series(s.name, self._inverse_col(s.to_numpy(), quantiles))

        return inverse

    def _inverse_col(self, x: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
        """scikit-learn's ``_transform_col(..., inverse=True)``."""
        x = np.array(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if self.output_distribution == "normal":
                x = stats.norm.cdf(x)
                lower = x - BOUNDS_THRESHOLD < 0
                upper = x + BOUNDS_THRESHOLD > 1
            else:
                lower, upper = x == 0, x == 1
        finite = ~np.isnan(x)
        x[finite] = np.interp(x[finite], self.references_, quantiles)
        x[upper] = quantiles[-1]
        x[lower] = quantiles[0]
        return x
