"""DriftMonitor: profile a reference dataset once, then test new data against it."""

from __future__ import annotations

import difflib
import itertools
import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted

from scaleml._validation import _array_to_frame, resolve_columns
from scaleml.io import scan
from scaleml.monitoring._profile import (
    CATEGORICAL,
    NUMERIC,
    ColumnProfile,
    DataProfile,
    column_kind,
    profile_data,
)
from scaleml.monitoring._report import DriftReport, PlotData
from scaleml.monitoring._stats import (
    chi2_test,
    js_distance,
    ks_from_counts,
    ks_from_sketches,
    ks_pvalue,
    psi,
)

__all__ = ["SCORE_SCHEMA", "DriftMonitor"]

#: The columns of :meth:`DriftMonitor.score`, in order.
SCORE_SCHEMA = pl.Schema(
    {
        "column": pl.String,
        "kind": pl.String,
        "rows_ref": pl.Int64,
        "rows_cur": pl.Int64,
        "psi": pl.Float64,
        "js_distance": pl.Float64,
        "ks_statistic": pl.Float64,
        "ks_pvalue": pl.Float64,
        "ks_error_bound": pl.Float64,
        "chi2_statistic": pl.Float64,
        "chi2_pvalue": pl.Float64,
        "null_rate_ref": pl.Float64,
        "null_rate_cur": pl.Float64,
        "null_rate_change": pl.Float64,
        "drifted": pl.Boolean,
        "reasons": pl.String,
    }
)

#: Categories drawn in a report plot; the others are summed as "(other)".
_MAX_BARS = 20

_Threshold = [Interval(Real, 0, None, closed="left"), None]
_Probability = [Interval(Real, 0, 1, closed="both"), None]


class DriftMonitor(BaseEstimator):  # type: ignore[misc]
    """Detect distribution drift between a reference dataset and new data.

    ``fit(reference)`` profiles every column out-of-core in one streaming pass (a
    quantile sketch and, up to ``max_exact_values`` distinct values, the exact value
    counts of numeric columns; category counts of string, categorical and boolean
    columns; null rates). ``score(current)`` profiles the new data the same way (one
    pass) and returns one row per column with:

    - ``psi`` and ``js_distance`` (Jensen-Shannon distance, base 2) of the binned
      distributions: ``n_bins`` reference-quantile bins for numeric columns, the
      categories for categorical ones;
    - numeric columns: the two-sample Kolmogorov-Smirnov ``ks_statistic`` (exact from
      value counts, identical to ``scipy.stats.ks_2samp``; estimated from the sketches
      when a column has more than ``max_exact_values`` distinct values, with
      ``ks_error_bound`` > 0 bounding the estimate's error) and its asymptotic
      ``ks_pvalue`` (as ``ks_2samp(method="asymp")``);
    - categorical columns: ``chi2_statistic`` / ``chi2_pvalue``, Pearson's test of
      homogeneity of the category counts;
    - ``null_rate_ref``, ``null_rate_cur``, ``null_rate_change``;
    - ``drifted``: whether any enabled test crossed its threshold, and which
      (``reasons``).

    Parameters
    ----------
    columns : str, list of str or polars selector, default=None
        Columns to monitor (default: all).
    n_bins : int, default=20
        Quantile bins of numeric columns for PSI, JS and the report's plots.
    psi_threshold : float or None, default=0.2
        Drift when PSI exceeds it.
    ks_alpha : float or None, default=0.01
        Drift when the KS p-value is below it. On millions of rows a negligible shift
        is significant: prefer ``ks_threshold`` (or PSI) there.
    ks_threshold : float or None, default=None
        Drift when the KS statistic exceeds it.
    js_threshold : float or None, default=0.1
        Drift when the Jensen-Shannon distance exceeds it.
    chi2_alpha : float or None, default=0.01
        Drift of a categorical column when the chi-squared p-value is below it.
    null_rate_threshold : float or None, default=0.05
        Drift when the null rate changes by more than this (absolute).
    sketch_k : int, default=1000
        Accuracy of the quantile sketches (rank error at most ``3.5 / sketch_k``).
    max_exact_values : int, default=100_000
        Up to this many distinct values per numeric column, the exact value counts
        are kept (exact bins and KS); beyond, the sketch is used.
    batch_rows : int, default=None
        Rows per batch read from the engine.
    n_jobs : int, default=None
        Partitions profiled in parallel threads.

    A test set to None is disabled.

    Notes
    -----
    - Bins are right-closed: ``(-inf, e0], (e0, e1], ..., (e_last, inf)``; a column
      with at most ``n_bins`` distinct values gets one bin per value (plus one below
      and one above). The current data's bin counts are exact (counted during its
      pass); the reference's are exact while its value counts are kept, else estimated
      from the sketch (each edge's rank within ``3.5 / sketch_k``).
    - PSI floors each bin fraction at 1e-4 so that an empty bin gives a large but
      finite index.
    - The KS p-value is always Smirnov's asymptotic one, whatever the sample sizes,
      so that it is consistent between small and large data; it equals
      ``scipy.stats.ks_2samp(a, b, method="asymp").pvalue``.
    - Profiles merge (:meth:`partial_fit`, :meth:`DataProfile.merge`): the monitor of
      daily partitions merged equals the monitor of their union (counts exactly).

    Attributes
    ----------
    profile_ : DataProfile
        The reference profile (mergeable: see :meth:`partial_fit`).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The monitored columns.
    scores_ : polars.DataFrame
        The table of the last :meth:`score` (or :meth:`report`).
    drifted_ : bool
        Whether any column drifted in the last score: a retraining trigger.
    drifted_columns_ : list of str
        The columns that drifted in the last score.

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> from scaleml.monitoring import DriftMonitor
    >>> rng = np.random.default_rng(0)
    >>> ref = pl.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    >>> cur = pl.DataFrame({"x": rng.normal(1.0, size=2000), "c": rng.choice(["a", "b"], 2000)})
    >>> monitor = DriftMonitor().fit(ref)
    >>> monitor.score(cur).select("column", "drifted").rows()
    [('x', True), ('c', False)]
    >>> monitor.drifted_, monitor.drifted_columns_
    (True, ['x'])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "columns": [None, str, list, tuple, pl.Expr],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "psi_threshold": _Threshold,
        "ks_alpha": _Probability,
        "ks_threshold": _Probability,
        "js_threshold": _Probability,
        "chi2_alpha": _Probability,
        "null_rate_threshold": _Probability,
        "sketch_k": [Interval(Integral, 8, None, closed="left")],
        "max_exact_values": [Interval(Integral, 0, None, closed="left")],
        "batch_rows": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        columns: Any = None,
        n_bins: int = 20,
        psi_threshold: float | None = 0.2,
        ks_alpha: float | None = 0.01,
        ks_threshold: float | None = None,
        js_threshold: float | None = 0.1,
        chi2_alpha: float | None = 0.01,
        null_rate_threshold: float | None = 0.05,
        sketch_k: int = 1000,
        max_exact_values: int = 100_000,
        batch_rows: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.columns = columns
        self.n_bins = n_bins
        self.psi_threshold = psi_threshold
        self.ks_alpha = ks_alpha
        self.ks_threshold = ks_threshold
        self.js_threshold = js_threshold
        self.chi2_alpha = chi2_alpha
        self.null_rate_threshold = null_rate_threshold
        self.sketch_k = sketch_k
        self.max_exact_values = max_exact_values
        self.batch_rows = batch_rows
        self.n_jobs = n_jobs

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> DriftMonitor:
        """Profile the reference data `X` in one streaming pass.

        Parameters
        ----------
        X : any source :func:`scaleml.scan` reads (path, glob, LazyFrame, DataFrame,
            DuckDB relation, Arrow, numpy), or a :class:`DataProfile`
        y : ignored

        Returns
        -------
        self
        """
        for attr in ("profile_", "scores_", "drifted_", "drifted_columns_"):
            if hasattr(self, attr):
                delattr(self, attr)
        return self.partial_fit(X)

    def partial_fit(self, X: Any, y: Any = None) -> DriftMonitor:
        """Add more reference data (e.g. one more daily partition) to the profile.

        `X` may also be a :class:`DataProfile` of the same columns (profiles merge).

        Returns
        -------
        self
        """
        self._validate_params()
        first = not hasattr(self, "profile_")
        profile = X if isinstance(X, DataProfile) else self._profile(X, reset=first)
        if first:
            self.profile_ = profile
            self.feature_names_in_ = np.asarray(profile.column_names, dtype=object)
            self.n_features_in_ = len(profile.column_names)
        else:
            self.profile_ = self.profile_.merge(profile)
        return self

    def _profile(
        self, X: Any, *, reset: bool, edges: dict[str, np.ndarray] | None = None
    ) -> DataProfile:
        lf = self._as_lazy(X, reset=reset)
        schema = lf.collect_schema()
        if reset:
            names = resolve_columns(self, self.columns, schema)
        else:
            names = list(self.feature_names_in_)
            self._check_current(schema)
        profile = profile_data(
            lf,
            columns=names,
            sketch_k=self.sketch_k,
            max_exact_values=self.max_exact_values,
            bin_edges=edges,
            batch_rows=self.batch_rows,
            n_jobs=self.n_jobs,
        )
        if reset and profile.n_rows == 0:
            msg = (
                "Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
            raise ValueError(msg)
        return profile

    def _as_lazy(self, X: Any, *, reset: bool) -> pl.LazyFrame:
        """`X` as a LazyFrame; arrays (and sparse matrices, refused) checked as
        scikit-learn checks them, object arrays converted column by column."""
        module = type(X).__module__.split(".")[0]
        if not (isinstance(X, (np.ndarray, list)) or module == "scipy"):
            return scan(X)
        arr = check_array(X, dtype=None, ensure_all_finite=False, estimator=self)
        if not reset and arr.shape[1] != self.n_features_in_:
            msg = (
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
            raise ValueError(msg)
        return _array_to_frame(arr, [f"x{i}" for i in range(arr.shape[1])]).lazy()

    def _check_current(self, schema: pl.Schema) -> None:
        missing = [c for c in self.feature_names_in_ if c not in schema]
        if missing:
            close = difflib.get_close_matches(missing[0], schema.names(), n=3)
            hint = f" Hint: Did you mean one of these columns: {close}?" if close else ""
            msg = (
                f"The data lacks the monitored column(s) {missing} of {type(self).__name__}.{hint}"
            )
            raise ValueError(msg)
        for c in self.feature_names_in_:
            ref, cur = self.profile_[c].kind, column_kind(c, schema[c])
            if ref != cur:
                msg = (
                    f"Column {c!r} was {ref} in the reference but is {cur} now (dtype "
                    f"{schema[c]}); drift tests need the same kind of values."
                )
                raise TypeError(msg)

    # -- scoring ------------------------------------------------------------------------
    def compare(self, current: Any) -> DriftReport:
        """Test `current` against the reference: the table and the plots' data.

        Parameters
        ----------
        current : any source :func:`scaleml.scan` reads, or a :class:`DataProfile`

        Returns
        -------
        DriftReport
        """
        check_is_fitted(self, "profile_")
        ref = self.profile_
        edges = {c: ref[c].bin_edges(self.n_bins) for c in ref.column_names}
        if isinstance(current, DataProfile):
            missing = [c for c in ref.column_names if c not in current.columns]
            if missing:
                msg = f"The current profile lacks the monitored column(s) {missing}."
                raise ValueError(msg)
            cur = current
        else:
            cur = self._profile(current, reset=False, edges=edges)
        rows, plots = [], []
        for c in ref.column_names:
            row, plot = self._compare_column(ref[c], cur[c], edges[c])
            rows.append(row)
            plots.append(plot)
        table = pl.DataFrame(rows, schema=SCORE_SCHEMA, orient="row")
        self.scores_ = table
        self.drifted_columns_ = table.filter(pl.col("drifted"))["column"].to_list()
        self.drifted_ = bool(self.drifted_columns_)
        return DriftReport(table, plots, self._thresholds())

    def score(self, current: Any, y: Any = None) -> pl.DataFrame:
        """One row of drift statistics per monitored column (see the class docs).

        Also sets ``scores_``, ``drifted_`` and ``drifted_columns_``.

        Parameters
        ----------
        current : any source :func:`scaleml.scan` reads, or a :class:`DataProfile`
        y : ignored

        Returns
        -------
        polars.DataFrame
        """
        return self.compare(current).table

    def report(self, current: Any, path: Any = None) -> DriftReport:
        """Score `current` and render the self-contained HTML report.

        Parameters
        ----------
        current : any source :func:`scaleml.scan` reads, or a :class:`DataProfile`
        path : str or PathLike, optional
            Where to write the HTML page.

        Returns
        -------
        DriftReport
        """
        report = self.compare(current)
        if path is not None:
            report.save(path)
        return report

    def _thresholds(self) -> dict[str, float | None]:
        return {
            "psi": self.psi_threshold,
            "js_distance": self.js_threshold,
            "ks_pvalue": self.ks_alpha,
            "ks_statistic": self.ks_threshold,
            "chi2_pvalue": self.chi2_alpha,
            "null_rate_change": self.null_rate_threshold,
        }

    def _compare_column(
        self, ref: ColumnProfile, cur: ColumnProfile, edges: np.ndarray
    ) -> tuple[tuple[Any, ...], PlotData]:
        stats: dict[str, float | None] = dict.fromkeys(
            ("ks_statistic", "ks_pvalue", "ks_error_bound", "chi2_statistic", "chi2_pvalue")
        )
        if ref.kind == NUMERIC:
            p, _ = ref.bin_counts(edges)
            q, _ = cur.bin_counts(edges)
            labels = _bin_labels(edges)
            stats.update(_ks(ref, cur))
        else:
            labels, p, q = _aligned_categories(ref, cur)
            stats["chi2_statistic"], stats["chi2_pvalue"] = chi2_test(p, q)
        stats["psi"], stats["js_distance"] = psi(p, q), js_distance(p, q)
        stats["null_rate_change"] = cur.null_rate - ref.null_rate
        reasons = self._reasons(stats)
        row = (
            ref.name,
            ref.kind,
            ref.n_rows,
            cur.n_rows,
            stats["psi"],
            stats["js_distance"],
            stats["ks_statistic"],
            stats["ks_pvalue"],
            stats["ks_error_bound"],
            stats["chi2_statistic"],
            stats["chi2_pvalue"],
            ref.null_rate,
            cur.null_rate,
            stats["null_rate_change"],
            bool(reasons),
            ", ".join(reasons),
        )
        plot = PlotData(ref.name, ref.kind, *_plot_bars(labels, p, q, ref.kind), bool(reasons))
        return row, plot

    def _reasons(self, stats: dict[str, float | None]) -> list[str]:
        def above(value: float | None, limit: float | None) -> bool:
            return (
                limit is not None and value is not None and not math.isnan(value) and value > limit
            )

        def below(value: float | None, limit: float | None) -> bool:
            return (
                limit is not None and value is not None and not math.isnan(value) and value < limit
            )

        change = stats["null_rate_change"]
        checks = {
            "psi": above(stats["psi"], self.psi_threshold),
            "js": above(stats["js_distance"], self.js_threshold),
            "ks": below(stats["ks_pvalue"], self.ks_alpha)
            or above(stats["ks_statistic"], self.ks_threshold),
            "chi2": below(stats["chi2_pvalue"], self.chi2_alpha),
            "null_rate": above(None if change is None else abs(change), self.null_rate_threshold),
        }
        return [name for name, hit in checks.items() if hit]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.requires_fit = True
        return tags


def _ks(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, float | None]:
    if ref.values is not None and cur.values is not None:
        d = ks_from_counts(ref.values, ref.counts, cur.values, cur.counts)  # type: ignore[arg-type]
        bound = 0.0
    else:
        assert ref.sketch is not None and cur.sketch is not None
        d, bound = ks_from_sketches(ref.sketch, cur.sketch)
    return {
        "ks_statistic": d,
        "ks_pvalue": ks_pvalue(d, ref.n_present, cur.n_present),
        "ks_error_bound": bound if ref.n_present and cur.n_present else math.nan,
    }


def _aligned_categories(
    ref: ColumnProfile, cur: ColumnProfile
) -> tuple[list[str], np.ndarray, np.ndarray]:
    a, b = ref.category_counts(), cur.category_counts()
    labels = sorted(set(a) | set(b))
    p = np.array([a.get(v, 0) for v in labels], dtype=np.float64)
    q = np.array([b.get(v, 0) for v in labels], dtype=np.float64)
    return labels, p, q


def _bin_labels(edges: np.ndarray) -> list[str]:
    if not edges.size:
        return ["all"]
    e = [f"{v:.4g}" for v in edges]
    return [
        f"<= {e[0]}",
        *(f"({lo}, {hi}]" for lo, hi in itertools.pairwise(e)),
        f"> {e[-1]}",
    ]


def _plot_bars(
    labels: list[str], p: np.ndarray, q: np.ndarray, kind: str
) -> tuple[list[str], list[float], list[float]]:
    """Fractions per bar; categorical columns keep their most frequent categories."""
    fp = p / p.sum() if p.sum() > 0 else np.zeros_like(p)
    fq = q / q.sum() if q.sum() > 0 else np.zeros_like(q)
    if kind == CATEGORICAL and len(labels) > _MAX_BARS:
        order = np.argsort(-(fp + fq), kind="stable")
        top, rest = order[: _MAX_BARS - 1], order[_MAX_BARS - 1 :]
        labels = [labels[i] for i in top] + [f"(other: {rest.size})"]
        fp = np.append(fp[top], fp[rest].sum())
        fq = np.append(fq[top], fq[rest].sum())
    return labels, fp.tolist(), fq.tolist()
