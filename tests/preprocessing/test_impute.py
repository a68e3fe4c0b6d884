"""SimpleImputer against scikit-learn, on every input kind."""

from __future__ import annotations

import functools
import pickle
import warnings
from typing import Any

import numpy as np
import polars as pl
import polars.selectors as cs
import pytest
import sklearn.impute as ski
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import scaleml as sm
from tests.strategies import matrices_with_missing, splits

STRATEGIES = ["mean", "median", "most_frequent", "constant"]
OPTIONS = [
    {},
    {"add_indicator": True},
    {"add_indicator": True, "keep_empty_features": True},
]


def _frame(seed: int = 0, n: int = 120) -> pl.DataFrame:
    """Floats with NaN and null holes, a discrete column (ties for the mode) and an
    entirely missing column."""
    rng = np.random.default_rng(seed)
    a = rng.normal(5.0, 2.0, n)
    b = rng.choice([-1.0, 0.5, 2.0], n)
    a[rng.random(n) < 0.1] = np.nan
    b[rng.random(n) < 0.2] = np.nan
    df = pl.DataFrame({"a": a, "b": b, "empty": np.full(n, np.nan), "c": rng.normal(size=n)})
    # Polars has two missing markers; NaN from numpy, and null: both are missing.
    return df.with_columns(pl.when(pl.int_range(n) % 7 == 0).then(None).otherwise("a").alias("a"))


def _sk_array(df: pl.DataFrame) -> np.ndarray:
    """What a scikit-learn user would pass: floats with NaN, or objects with NaN."""
    X = df.to_numpy()
    if X.dtype == object:
        X = np.array([[np.nan if v is None else v for v in row] for row in X], dtype=object)
    return X


def _as_array(out: Any) -> np.ndarray:
    if isinstance(out, pl.LazyFrame):
        out = out.collect()
    if isinstance(out, pl.DataFrame):
        out = out.to_numpy()
    return np.asarray(out)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))


def assert_same_values(actual: Any, expected: Any) -> None:
    """Element-wise equality for float or object arrays: NaN/None match each other,
    numbers within float tolerance."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    for got, want in zip(actual.ravel().tolist(), expected.ravel().tolist(), strict=True):
        if _is_missing(want):
            assert _is_missing(got), (got, want)
        elif isinstance(want, (int, float)) and not isinstance(want, bool):
            assert got == pytest.approx(want, rel=1e-10, abs=1e-12), (got, want)
        else:
            assert got == want, (got, want)


def _sklearn(params: dict[str, Any], method: str, X: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Skipping features ..."
        return getattr(ski.SimpleImputer(**params).fit(X), method)(*args)


def _both_transform(
    est: sm.SimpleImputer, X: Any, ref: ski.SimpleImputer, X_ref: Any
) -> tuple[Any, Any]:
    """Transform with both; ours warns about dropped columns exactly when sklearn does."""
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = ref.transform(X_ref)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        out = est.transform(X)
    assert [str(w.message).split(":")[0] for w in ours] == [
        str(w.message).split(":")[0] for w in theirs
    ]
    return out, expected


# -- against scikit-learn on every input kind ---------------------------------------------
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "default")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_numeric_matches_sklearn_on_every_input_kind(constructor, strategy, options):
    df = _frame()
    X = df.to_numpy()
    params = {"strategy": strategy, **options}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    assert est.statistics_.dtype == ref.statistics_.dtype
    assert_same_values(est.statistics_, ref.statistics_)
    out, expected = _both_transform(est, constructor(df), ref, X)
    assert isinstance(out, pl.LazyFrame) == constructor.lazy
    assert_same_values(_as_array(out).astype(np.float64), expected)
    names = ref.get_feature_names_out(None if constructor.kind == "numpy" else df.columns)
    assert est.get_feature_names_out().tolist() == names.tolist()
    if options.get("add_indicator"):
        assert_array_equal(est.indicator_.features_, ref.indicator_.features_)
        assert est.indicator_.features_.tolist() == [0, 1, 2]
    else:
        assert est.indicator_ is None


@pytest.mark.parametrize("strategy", ["most_frequent", "constant"])
def test_strings_match_sklearn_on_every_input_kind(constructor, strategy):
    df = pl.DataFrame(
        {
            "carrier": ["AA", None, "UA", "UA", "AA", None, "DL"],  # tie AA/UA -> "AA"
            "origin": ["JFK", "SFO", None, "SFO", "JFK", "JFK", None],
            "nothing": pl.Series([None] * 7, dtype=pl.String),
        }
    )
    X = _sk_array(df)
    params = {"strategy": strategy, "add_indicator": True}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    assert est.statistics_.dtype == object
    assert_same_values(est.statistics_, ref.statistics_)
    assert est.statistics_[0] == ("AA" if strategy == "most_frequent" else "missing_value")
    out, expected = _both_transform(est, constructor(df), ref, X)
    assert_same_values(_as_array(out), expected)
    names = ref.get_feature_names_out(None if constructor.kind == "numpy" else df.columns)
    assert est.get_feature_names_out().tolist() == names.tolist()


def test_mixed_strings_and_numbers_most_frequent_matches_sklearn(constructor):
    df = pl.DataFrame({"x": [1.0, None, 3.0, 3.0, 1.0, 1.0], "s": ["b", "a", None, "a", "b", None]})
    X = _sk_array(df)
    ref = ski.SimpleImputer(strategy="most_frequent").fit(X)
    est = sm.SimpleImputer(strategy="most_frequent").fit(constructor(df))
    assert_same_values(est.statistics_, ref.statistics_)
    assert est.statistics_.tolist() == [1.0, "a"]
    assert_same_values(_as_array(est.transform(constructor(df))), ref.transform(X))


_MARKERS = {
    "int": (-1, pl.DataFrame({"a": [1, -1, 3, 3, -1], "b": [-1] * 5, "c": [2, 2, 5, -1, 5]})),
    "float": (0.5, pl.DataFrame({"a": [0.5, 1.0, 2.0, 0.5], "b": [3.0, 0.5, 3.0, 4.0]})),
    "str": ("?", pl.DataFrame({"s": ["x", "?", "y", "y"], "t": ["?", "?", "?", "?"]})),
    "None": (None, pl.DataFrame({"s": ["x", None, "x", "z"], "t": ["u", "v", None, "v"]})),
}
_MARKER_CASES = [
    (marker, strategy)
    for marker in _MARKERS
    for strategy in STRATEGIES
    # mean and median refuse strings (tested below)
    if marker in ("int", "float") or strategy in ("most_frequent", "constant")
]


@pytest.mark.parametrize(("marker", "strategy"), _MARKER_CASES)
def test_missing_values_markers_match_sklearn(constructor, marker, strategy):
    missing_values, df = _MARKERS[marker]
    numeric = df.dtypes[0].is_numeric()
    X = df.to_numpy()
    if not numeric:
        X = X.astype(object)
    params = {"strategy": strategy, "missing_values": missing_values, "add_indicator": True}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    assert_same_values(est.statistics_, ref.statistics_)
    out, expected = _both_transform(est, constructor(df), ref, X)
    out = _as_array(out)
    assert_same_values(out.astype(np.float64) if numeric else out, expected)


def test_callable_strategy_matches_sklearn(constructor):
    df = _frame().drop("empty")
    X = df.to_numpy()
    params = {"strategy": functools.partial(np.percentile, q=90)}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    assert_allclose(est.statistics_, ref.statistics_, rtol=1e-12)
    assert_allclose(_as_array(est.transform(constructor(df))).astype(float), ref.transform(X))


def test_constant_fill_value_matches_sklearn(constructor):
    df = _frame()
    X = df.to_numpy()
    params = {"strategy": "constant", "fill_value": -7.5, "add_indicator": True}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    assert_same_values(est.statistics_, ref.statistics_)
    assert est.statistics_.dtype == object
    # The entirely missing column is dropped, as in scikit-learn.
    with pytest.warns(UserWarning, match="Skipping features"):
        out = _as_array(est.transform(constructor(df))).astype(float)
    assert_same_values(out, _sklearn(params, "transform", X, X))


def test_median_is_exact_on_even_and_odd_counts():
    lf = pl.LazyFrame({"even": [1.0, 4.0, None, 10.0, 2.0], "odd": [3.0, 1.0, 2.0, None, None]})
    assert_allclose(sm.SimpleImputer(strategy="median").fit(lf).statistics_, [3.0, 2.0])


def test_inverse_transform_matches_sklearn(constructor):
    df = _frame()
    X = df.to_numpy()
    params = {"strategy": "mean", "add_indicator": True}
    ref = ski.SimpleImputer(**params).fit(X)
    est = sm.SimpleImputer(**params).fit(constructor(df))
    with pytest.warns(UserWarning, match="Skipping features"):
        out = est.transform(constructor(df))
    back = est.inverse_transform(out)
    assert isinstance(back, pl.LazyFrame) == constructor.lazy
    if constructor.kind == "numpy":
        assert back.dtype == np.float64
    with pytest.warns(UserWarning, match="Skipping features"):
        expected = ref.inverse_transform(ref.transform(X))
    assert_same_values(_as_array(back).astype(np.float64), expected)
    assert_same_values(_as_array(back).astype(np.float64), X)


def test_inverse_transform_needs_add_indicator():
    est = sm.SimpleImputer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="add_indicator=True"):
        est.inverse_transform(np.array([[1.0], [1.0]]))


# -- columns, labels, lazy output --------------------------------------------------------
def test_columns_param_label_and_indicators_in_lazy_output():
    lf = pl.LazyFrame(
        {
            "a": [1.0, None, 3.0],
            "s": ["x", None, "x"],
            "n": [None, 2.0, 4.0],
            "label": [0, 1, 1],
        }
    )
    est = sm.SimpleImputer(columns=cs.numeric(), add_indicator=True).fit(lf, y="label")
    assert est.feature_names_in_.tolist() == ["a", "s", "n"]
    assert_allclose(est.statistics_, [2.0, 3.0])
    out = est.transform(lf)
    assert isinstance(out, pl.LazyFrame)
    frame = out.collect()
    assert frame.columns == ["a", "s", "n", "missingindicator_a", "missingindicator_n", "label"]
    assert frame["a"].to_list() == [1.0, 2.0, 3.0]
    assert frame["s"].to_list() == ["x", None, "x"]  # not selected: untouched
    assert frame["missingindicator_n"].to_list() == [True, False, False]
    assert est.get_feature_names_out().tolist() == frame.columns[:-1]


def test_transform_is_lazy_and_fills_only_missing_values():
    lf = pl.LazyFrame({"a": [1.0, float("nan"), None, 4.0]})
    est = sm.SimpleImputer().fit(lf)
    out = est.transform(lf)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["a"].to_list() == [1.0, 2.5, 2.5, 4.0]


def test_integer_column_most_frequent_keeps_its_dtype():
    lf = pl.LazyFrame({"i": [3, None, 3, 1, 1, 1]}, schema={"i": pl.Int32})
    out = sm.SimpleImputer(strategy="most_frequent").fit(lf).transform(lf).collect()
    assert out.schema["i"] == pl.Int32
    assert out["i"].to_list() == [3, 1, 3, 1, 1, 1]


def test_set_output_polars_and_pandas_match_sklearn():
    df = _frame().drop("empty").to_pandas()
    for output in ("pandas", "polars"):
        est = sm.SimpleImputer(add_indicator=True).set_output(transform=output)
        ref = ski.SimpleImputer(add_indicator=True).set_output(transform=output)
        out, want = est.fit_transform(df), ref.fit_transform(df)
        assert list(out.columns) == list(want.columns)
        assert_allclose(np.asarray(out, dtype=float), np.asarray(want, dtype=float))


def test_no_partial_fit_as_in_sklearn():
    assert not hasattr(sm.SimpleImputer(), "partial_fit")
    assert not hasattr(ski.SimpleImputer(), "partial_fit")


def test_pickle_round_trip_of_a_most_frequent_fit():
    df = _frame()
    est = sm.SimpleImputer(strategy="most_frequent", add_indicator=True).fit(df.lazy())
    restored = pickle.loads(pickle.dumps(est))
    assert_same_values(restored.statistics_, est.statistics_)
    with pytest.warns(UserWarning):
        assert_same_values(restored.transform(df), est.transform(df))


# -- chunking ----------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(data=st.data(), X=matrices_with_missing(), strategy=st.sampled_from(STRATEGIES))
def test_any_file_split_gives_the_same_statistics(tmp_path_factory, data, X, strategy):
    cuts = data.draw(splits(len(X)))
    root = tmp_path_factory.mktemp("split")
    names = [f"x{j}" for j in range(X.shape[1])]
    paths = []
    for i, chunk in enumerate(np.split(X, cuts)):
        paths.append(str(root / f"part-{i:03d}.parquet"))
        pl.DataFrame(chunk, schema=names).write_parquet(paths[-1])
    ref = ski.SimpleImputer(strategy=strategy).fit(X)
    est = sm.SimpleImputer(strategy=strategy).fit(paths)
    assert_same_values(est.statistics_, ref.statistics_)


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    X=matrices_with_missing(),
    strategy=st.sampled_from(["mean", "most_frequent", "constant"]),
)
def test_merged_chunk_states_give_the_same_statistics(data, X, strategy):
    # The mergeable state: update on each chunk, merge in any order, finalize.
    cuts = data.draw(splits(len(X)))
    whole = sm.SimpleImputer(strategy=strategy).fit(X)
    est = sm.SimpleImputer(strategy=strategy).fit(X)
    frames = [pl.DataFrame(c, schema=est._columns_in).lazy() for c in np.split(X, cuts)]
    states = [est._update_state(est._init_state(), f) for f in frames]
    order = data.draw(st.permutations(range(len(states))))
    merged = functools.reduce(est._merge_states, [states[i] for i in order], est._init_state())
    est._finalize_state(merged)
    assert_same_values(est.statistics_, whole.statistics_)


def test_median_states_do_not_merge():
    X = np.array([[1.0], [2.0], [5.0]])
    est = sm.SimpleImputer(strategy="median").fit(X)
    a = est._update_state(est._init_state(), pl.LazyFrame({"x0": [1.0]}))
    b = est._update_state(est._init_state(), pl.LazyFrame({"x0": [2.0]}))
    with pytest.raises(NotImplementedError, match="no mergeable state"):
        est._merge_states(a, b)


# -- bad input ---------------------------------------------------------------------------
def test_inf_is_refused_naming_the_column(constructor):
    df = pl.DataFrame({"ok": [1.0, 2.0, None], "bad": [1.0, float("inf"), 2.0]})
    match = "infinity" if constructor.kind == "numpy" else r"infinity in column\(s\) \['bad'\]"
    for strategy in STRATEGIES:
        with pytest.raises(ValueError, match=match):
            sm.SimpleImputer(strategy=strategy).fit(constructor(df))


def test_inf_at_transform_of_in_memory_data_is_refused():
    est = sm.SimpleImputer().fit(pl.DataFrame({"a": [1.0, None]}))
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['a'\]"):
        est.transform(pl.DataFrame({"a": [float("-inf"), None]}))


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_non_numeric_column_is_refused_naming_it(constructor, strategy):
    df = pl.DataFrame({"a": [1.0, 2.0], "carrier": ["AA", "UA"]})
    match = "non-numeric" if constructor.kind == "numpy" else r"non-numeric column\(s\) 'carrier'"
    with pytest.raises(ValueError, match=match):
        sm.SimpleImputer(strategy=strategy).fit(constructor(df))


def test_zero_rows_are_refused(constructor):
    df = pl.DataFrame({"a": pl.Series([], dtype=pl.Float64)})
    for strategy in STRATEGIES:
        with pytest.raises(ValueError, match="0 sample"):
            sm.SimpleImputer(strategy=strategy).fit(constructor(df))


def test_nan_with_another_marker_is_refused_naming_the_column():
    lf = pl.LazyFrame({"a": [1.0, -1.0], "b": [None, 2.0]})
    with pytest.raises(ValueError, match=r"NaN or null in column\(s\) \['b'\].*missing_values=-1"):
        sm.SimpleImputer(missing_values=-1).fit(lf)
    with pytest.raises(ValueError, match="NaN"):
        sm.SimpleImputer(missing_values=-1).fit(np.array([[1.0], [np.nan]]))


def test_fill_value_of_the_wrong_kind_is_refused_naming_the_column():
    lf = pl.LazyFrame({"a": [1.0, None], "s": ["x", None]})
    with pytest.raises(ValueError, match=r"fill_value='none'.*column 'a' of dtype Float64"):
        sm.SimpleImputer(strategy="constant", fill_value="none").fit(lf)
    with pytest.raises(ValueError, match=r"fill_value=0.*column 's' of dtype String"):
        sm.SimpleImputer(strategy="constant", fill_value=0).fit(lf)


def test_string_marker_on_numeric_data_is_refused():
    with pytest.raises(ValueError, match="both numerical"):
        sm.SimpleImputer(missing_values="?").fit(pl.LazyFrame({"a": [1.0, 2.0]}))


def test_bad_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        sm.SimpleImputer(strategy="mode").fit(np.ones((2, 1)))
