"""Hypothesis strategies shared by the tests (one place, as in attrs' tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

#: Well-conditioned float data: no NaN/inf, moderate magnitudes.
finite_floats = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def float_matrices(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 60, max_cols: int = 4
) -> np.ndarray:
    """A 2-D float64 array of a drawn shape."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, max_cols))
    return draw(arrays(np.float64, (n, d), elements=finite_floats))


@st.composite
def splits(draw: st.DrawFn, n_rows: int, max_parts: int = 5) -> list[int]:
    """Sorted cut points splitting ``range(n_rows)`` into 1..max_parts non-empty parts."""
    k = draw(st.integers(0, min(max_parts - 1, n_rows - 1)))
    cuts = (
        draw(st.lists(st.integers(1, n_rows - 1), min_size=k, max_size=k, unique=True)) if k else []
    )
    return sorted(cuts)


@st.composite
def regression_problems(
    draw: st.DrawFn,
    min_rows: int = 12,
    max_rows: int = 80,
    max_features: int = 4,
    max_targets: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned regression problem ``(X, y)``: Gaussian features with a drawn
    offset and scale, a 1-D or 2-D noisy linear target."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(1, max_features))
    t = draw(st.integers(1, max_targets))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(1e-2, 1e2))
    # Offsets up to 100 spreads: beyond, rounding of the data itself (not of the fit)
    # limits how well two chunkings can agree. Large offsets have their own tests.
    offset = scale * draw(st.floats(-100, 100))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * scale + offset
    y = X @ rng.normal(size=(p, t)) + rng.normal(size=(n, t))
    return X, (y[:, 0] if t == 1 else y)


@st.composite
def matrices_with_missing(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 40, max_cols: int = 3
) -> np.ndarray:
    """A 2-D float64 array with NaN holes and repeated values (ties for a mode),
    possibly with an entirely missing column."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, max_cols))
    values = st.one_of(st.sampled_from([-2.0, 0.0, 1.5, 3.0]), finite_floats, st.just(np.nan))
    return draw(arrays(np.float64, (n, d), elements=values))


@st.composite
def pca_matrices(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 60, max_cols: int = 5
) -> np.ndarray:
    """Correlated Gaussian data (a random mixing of the columns) with a drawn offset
    and scale; offset / scale is at most 1e4, so two summation orders of the
    covariance agree to ~1e-10."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(1, max_cols))
    seed = draw(st.integers(0, 2**32 - 1))
    offset = draw(st.floats(-1e3, 1e3))
    scale = draw(st.floats(1e-1, 1e2))
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) * scale + offset


@st.composite
def labelled_counts(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 60, max_cols: int = 4, max_classes: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative count-like features with some fractional values, and integer class
    labels (every class present) for naive Bayes."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(1, max_cols))
    k = draw(st.integers(1, min(max_classes, n)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)])
    rng.shuffle(y)
    X = rng.poisson(rng.uniform(0.5, 5.0, size=(k, p))[y]) + rng.random((n, p)) * (y[:, None] == 0)
    return X.astype(np.float64), y


@st.composite
def categorical_frames(draw: st.DrawFn, min_rows: int = 1, max_rows: int = 40) -> object:
    """A Polars DataFrame of categorical data: a string column ``s``, an integer column
    ``i`` and a float column ``f`` drawn from small alphabets (so categories repeat, tie
    and are rare), each with nulls, ``f`` with NaN too."""
    import polars as pl

    n = draw(st.integers(min_rows, max_rows))

    def column(values: st.SearchStrategy[object]) -> list[object]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    strings = column(st.sampled_from(["a", "b", "cc", "Z", "é", ""]))
    floats = column(st.sampled_from([-1.5, 0.0, 2.0, float("nan")]))
    return pl.DataFrame(
        {
            "s": pl.Series(strings, dtype=pl.String),
            "i": pl.Series(column(st.integers(-3, 3)), dtype=pl.Int64),
            "f": pl.Series(floats, dtype=pl.Float64),
        }
    )


@st.composite
def metric_frames(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 80, max_classes: int = 4
) -> object:
    """A Polars DataFrame for the metrics: labels ``y``/``pred`` (``k`` classes, all
    present in ``y``; ``y % 2`` is binary with both classes), tie-heavy scores
    ``score`` (few distinct values), row-normalised probabilities ``p0..p{k-1}``,
    regression targets ``t``/``r`` and positive weights ``w``."""
    import polars as pl

    k = draw(st.integers(2, max_classes))
    n = draw(st.integers(max(min_rows, k), max_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.sampled_from([2, 5, 1000]))
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)])
    rng.shuffle(y)
    proba = rng.integers(1, ties + 1, size=(n, k)).astype(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)
    columns = {
        "y": y,
        "pred": rng.integers(0, k, size=n),
        "score": rng.integers(0, ties, size=n) / ties,
        "t": rng.normal(draw(st.sampled_from([0.0, 1e4])), 1.0, size=n),
        "w": rng.uniform(0.1, 2.0, size=n),
    }
    columns["r"] = columns["t"] + rng.normal(size=n)
    columns.update({f"p{j}": proba[:, j] for j in range(k)})
    return pl.DataFrame(columns)


@st.composite
def classification_data(
    draw: st.DrawFn, min_rows: int = 20, max_rows: int = 150, max_classes: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: 1..4 well-scaled features and integer labels of 2..max_classes
    classes, every class present, with a signal so that fits are well conditioned."""
    k = draw(st.integers(2, max_classes))
    n = draw(st.integers(max(min_rows, 2 * k), max_rows))
    d = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.normal(size=(n, d))
    score = X @ rng.normal(size=d) + rng.normal(scale=0.5, size=n)
    y = np.searchsorted(np.quantile(score, np.linspace(0, 1, k + 1)[1:-1]), score)
    y[:k] = np.arange(k)
    return X, y


@st.composite
def kmeans_problems(
    draw: st.DrawFn, min_rows: int = 1, max_rows: int = 200, max_clusters: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, centers)``: 1..4 features of rows scattered around a few centres, far from
    the origin or not, optionally rounded (duplicate rows, tied distances); the
    centres are rows of X or random points."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 4))
    k = draw(st.integers(1, max_clusters))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    offset = draw(st.sampled_from([0.0, 1e4]))
    blobs = rng.normal(scale=5.0, size=(k, d)) + offset
    X = blobs[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    if draw(st.booleans()):
        X = np.round(X)
    if draw(st.booleans()):
        centers = X[rng.integers(0, n, size=k)]
    else:
        centers = rng.normal(scale=5.0, size=(k, d)) + offset
    return np.ascontiguousarray(X), np.ascontiguousarray(centers)


@st.composite
def drift_frames(draw: st.DrawFn, min_rows: int = 1, max_rows: int = 300) -> object:
    """A Polars DataFrame for drift profiles: a continuous float ``x`` (rounded or not,
    so with or without ties) with nulls and NaN, an integer ``i`` with nulls, a string
    ``s`` with nulls and a boolean ``b``."""
    import polars as pl

    n = draw(st.integers(min_rows, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(draw(st.sampled_from([0.0, 1e3])), 1.0, size=n)
    if draw(st.booleans()):
        x = np.round(x, 1)
    x[rng.random(n) < 0.1] = np.nan
    missing = rng.random(n) < 0.1
    strings = rng.choice(["a", "b", "cc", "é", ""], size=n).astype(object)
    strings[rng.random(n) < 0.1] = None
    return pl.DataFrame(
        {
            "x": pl.Series(x).set(pl.Series(missing), None),
            "i": pl.Series(rng.integers(-3, 4, size=n)).set(pl.Series(rng.random(n) < 0.1), None),
            "s": pl.Series(strings.tolist(), dtype=pl.String),
            "b": pl.Series(rng.random(n) < 0.3),
        }
    )


@st.composite
def quantile_columns(
    draw: st.DrawFn, min_rows: int = 2, max_rows: int = 80, max_cols: int = 3
) -> np.ndarray:
    """A 2-D float64 array for quantile estimators: drawn values with heavy ties
    (rounded to a drawn number of decimals), a few NaN, every column with at least
    one non-NaN value."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, max_cols))
    seed = draw(st.integers(0, 2**32 - 1))
    decimals = draw(st.sampled_from([0, 1, 3]))
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, d)) * draw(st.sampled_from([1.0, 100.0])), decimals)
    X[rng.random((n, d)) < draw(st.sampled_from([0.0, 0.1]))] = np.nan
    X[0] = np.where(np.isnan(X[0]), 0.5, X[0])
    return X
