"""OneHotEncoder and OrdinalEncoder against scikit-learn, on every input kind."""

from __future__ import annotations

import itertools
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import polars.selectors as cs
import pytest
import sklearn
import sklearn.preprocessing as skp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from scipy import sparse

import scaleml as sm
from tests.conftest import to_numpy
from tests.strategies import categorical_frames, splits

ONEHOT_PARAMS = [
    {},
    {"drop": "first"},
    {"drop": "if_binary"},
    {"drop": ["b", 3, "y"]},
    {"min_frequency": 9},
    {"min_frequency": 0.15},
    {"max_categories": 3},
    {"max_categories": 2, "drop": "if_binary"},
    {"min_frequency": 5, "max_categories": 4, "drop": "first"},
    {"sparse_output": False, "dtype": np.int8},
    {"sparse_output": False, "dtype": np.float32, "min_frequency": 10},
]
ORDINAL_PARAMS = [
    {},
    {"encoded_missing_value": -1},
    {"min_frequency": 9},
    {"max_categories": 3},
    {"max_categories": 2, "encoded_missing_value": -1, "dtype": np.int32},
    {"handle_unknown": "use_encoded_value", "unknown_value": -2},
    {"handle_unknown": "use_encoded_value", "unknown_value": np.nan, "min_frequency": 0.1},
]


def _frame(seed: int = 0, n: int = 120) -> pl.DataFrame:
    """A skewed string column and an integer column, both with nulls, and a binary one."""
    rng = np.random.default_rng(seed)
    s = rng.choice(["a", "b", "c", "d", "e"], n, p=[0.35, 0.3, 0.2, 0.1, 0.05]).astype(object)
    s[rng.random(n) < 0.08] = None
    i = pl.Series(rng.choice([0, 1, 2, 3, 4, 5], n, p=[0.3, 0.25, 0.2, 0.15, 0.06, 0.04]))
    i = i.scatter(np.flatnonzero(rng.random(n) < 0.06), None)
    return pl.DataFrame(
        {"s": pl.Series(s.tolist(), dtype=pl.String), "i": i, "b": rng.choice(["x", "y"], n)}
    )


def _unknown_frame() -> pl.DataFrame:
    """Known, missing and unknown values in every column."""
    return pl.DataFrame(
        {
            "s": ["a", "zz", None, "e", "q"],
            "i": pl.Series([1, 99, None, 5, 3], dtype=pl.Int64),
            "b": ["x", "w", "y", "x", "y"],
        }
    )


def _sk_input(constructor: Any, df: pl.DataFrame, X: Any) -> Any:
    """What scikit-learn is given: the same object when it reads it, else the frame."""
    return df if constructor.lazy else X


def _key(value: Any) -> Any:
    if value is None:
        return ("<None>",)
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return ("<nan>",)
    return value


def _assert_same_values(ours: Any, theirs: Any) -> None:
    """Equal element by element, telling None from NaN (numbers compare by value)."""
    ours, theirs = np.asarray(ours, dtype=object), np.asarray(theirs, dtype=object)
    assert ours.shape == theirs.shape
    assert [_key(v) for v in ours.ravel()] == [_key(v) for v in theirs.ravel()]


def _assert_same_fit(ours: Any, theirs: Any) -> None:
    assert len(ours.categories_) == len(theirs.categories_)
    for a, b in zip(ours.categories_, theirs.categories_, strict=True):
        _assert_same_values(a, b)
    assert ours.n_features_in_ == theirs.n_features_in_
    assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    if hasattr(theirs, "infrequent_categories_"):
        for a, b in zip(ours.infrequent_categories_, theirs.infrequent_categories_, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                _assert_same_values(a, b)
    else:
        with pytest.raises(AttributeError):
            ours.infrequent_categories_  # noqa: B018
    if hasattr(theirs, "drop_idx_"):
        if theirs.drop_idx_ is None:
            assert ours.drop_idx_ is None
        else:
            assert list(ours.drop_idx_) == list(theirs.drop_idx_)


def _transform_recording(est: Any, X: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = est.transform(X)
    return out, [str(w.message) for w in caught]


def _check_output_type(est: Any, constructor: Any, out: Any) -> None:
    if constructor.lazy:
        assert isinstance(out, pl.LazyFrame)
        assert out.collect_schema().names() == list(est.get_feature_names_out())
    elif getattr(est, "sparse_output", False):
        assert sparse.issparse(out) and out.format == "csr"
    else:
        assert isinstance(out, np.ndarray) and out.dtype == np.dtype(est.dtype)


# -- OneHotEncoder --------------------------------------------------------------------
@pytest.mark.parametrize("params", ONEHOT_PARAMS, ids=str)
def test_onehot_matches_sklearn(constructor, params):
    df = _frame()
    X = constructor(df)
    ours = sm.OneHotEncoder(**params).fit(X)
    theirs = skp.OneHotEncoder(**params).fit(_sk_input(constructor, df, X))
    _assert_same_fit(ours, theirs)
    out = ours.transform(constructor(df))
    _check_output_type(ours, constructor, out)
    expected = theirs.transform(_sk_input(constructor, df, constructor(df)))
    assert_array_equal(to_numpy(out), to_numpy(expected))


@pytest.mark.parametrize("handle_unknown", ["ignore", "infrequent_if_exist", "warn"])
@pytest.mark.parametrize("params", ONEHOT_PARAMS[::2], ids=str)
def test_onehot_unknown_categories_match_sklearn(constructor, params, handle_unknown):
    df, new = _frame(), _unknown_frame()
    X = constructor(df)
    ours = sm.OneHotEncoder(handle_unknown=handle_unknown, **params).fit(X)
    theirs = skp.OneHotEncoder(handle_unknown=handle_unknown, **params)
    theirs.fit(_sk_input(constructor, df, X))
    out, our_warnings = _transform_recording(ours, constructor(new))
    expected, their_warnings = _transform_recording(
        theirs, _sk_input(constructor, new, constructor(new))
    )
    assert_array_equal(to_numpy(out), to_numpy(expected))
    # A lazy source is scanned for unknowns only when the user asked for a warning.
    warned = their_warnings and (not constructor.lazy or handle_unknown == "warn")
    assert len(our_warnings) == (1 if warned else 0)
    if warned:
        # The same text, with column names where scikit-learn gives indices.
        names = "['x0', 'x1', 'x2']" if constructor.kind == "numpy" else "['s', 'i', 'b']"
        assert our_warnings[0] == their_warnings[0].replace("[0, 1, 2]", names)


@pytest.mark.parametrize("params", ONEHOT_PARAMS, ids=str)
@pytest.mark.parametrize("handle_unknown", ["error", "ignore", "infrequent_if_exist"])
def test_onehot_inverse_transform_matches_sklearn(params, handle_unknown):
    df = _frame()
    ours = sm.OneHotEncoder(handle_unknown=handle_unknown, **params).fit(df)
    theirs = skp.OneHotEncoder(handle_unknown=handle_unknown, **params).fit(df)
    data = df if handle_unknown == "error" else _unknown_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoded = theirs.transform(data)
    _assert_same_values(ours.inverse_transform(encoded), theirs.inverse_transform(encoded))


def test_onehot_error_names_column_and_unknown_values(constructor):
    enc = sm.OneHotEncoder().fit(constructor(_frame()))
    s, i = ("x0", "x1") if constructor.kind == "numpy" else ("s", "i")
    new = constructor(_unknown_frame())
    # For a lazy source the check is one streaming query at transform() call time.
    pattern = (
        rf"Found unknown categories \['q', 'zz'\] in column '{s}' during transform\n"
        rf"Found unknown categories \[99\.0\] in column '{i}' during transform"
    )
    with pytest.raises(ValueError, match=pattern):
        enc.transform(new)


def test_onehot_missing_value_unseen_at_fit_is_unknown():
    enc = sm.OneHotEncoder().fit(pl.DataFrame({"s": ["a", "b"]}))
    with pytest.raises(ValueError, match=r"unknown categories \[None\] in column 's'"):
        enc.transform(pl.LazyFrame({"s": ["a", None]}))
    ignoring = sm.OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    out = ignoring.fit(pl.DataFrame({"s": ["a", "b"]})).transform(pl.DataFrame({"s": [None]}))
    assert_array_equal(out, [[0.0, 0.0]])


def test_onehot_sparse_output_matches_sklearn():
    df = _frame()
    ours = sm.OneHotEncoder().fit_transform(df)
    theirs = skp.OneHotEncoder().fit_transform(df)
    assert type(ours) is type(theirs)
    assert ours.dtype == theirs.dtype and ours.indices.dtype == theirs.indices.dtype
    assert_array_equal(ours.indptr, theirs.indptr)
    assert_array_equal(ours.indices, theirs.indices)
    assert_array_equal(ours.data, theirs.data)
    with sklearn.config_context(sparse_interface="sparray"):
        assert isinstance(sm.OneHotEncoder().fit_transform(df), sparse.csr_array)


def test_onehot_user_categories_and_combiner_match_sklearn():
    df = _frame()
    params = {
        "categories": [
            ["a", "b", "c", "d", "e", "f", None],
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan],
            ["x", "y"],
        ],
        "feature_name_combiner": lambda feature, category: f"{feature}={category!s}",
        "min_frequency": 7,
        "sparse_output": False,
    }
    ours, theirs = sm.OneHotEncoder(**params).fit(df), skp.OneHotEncoder(**params).fit(df)
    _assert_same_fit(ours, theirs)
    assert_array_equal(ours.transform(df), theirs.transform(df))


def test_onehot_user_categories_errors_name_the_column():
    df = _frame()
    categories = [["a", "b", "c", "d", None], [0, 1], ["x", "y"]]
    with pytest.raises(ValueError, match=r"unknown categories \['e'\] in column 0 \('s'\) during"):
        sm.OneHotEncoder(categories=categories).fit(df)
    with pytest.raises(ValueError, match="Unsorted categories are not supported for numerical"):
        sm.OneHotEncoder(categories=[["a"], [3.0, 1.0], ["x"]], handle_unknown="ignore").fit(df)
    with pytest.raises(ValueError, match="Shape mismatch"):
        sm.OneHotEncoder(categories=[["a"]]).fit(df)
    with pytest.raises(ValueError, match=r"Unable to drop category 'e' from feature 0 \('s'\)"):
        sm.OneHotEncoder(drop=["e", 0, "x"], min_frequency=10).fit(df)


def test_onehot_columns_replace_encoded_column_in_place(constructor):
    df = _frame().with_columns(num=pl.int_range(120).cast(pl.Float64))
    numpy = constructor.kind == "numpy"
    s, i, b, num = ("x0", "x1", "x2", "x3") if numpy else ("s", "i", "b", "num")
    enc = sm.OneHotEncoder(columns=[s, b], sparse_output=False).fit(constructor(df))
    # pandas string columns spell a missing value NaN, the others None (as sklearn).
    missing = "nan" if constructor.kind == "pandas" else "None"
    assert list(enc.get_feature_names_out()) == [
        *(f"{s}_{c}" for c in ["a", "b", "c", "d", "e", missing]),
        i,
        f"{b}_x",
        f"{b}_y",
        num,
    ]
    out = enc.transform(constructor(df))
    theirs = skp.OneHotEncoder(sparse_output=False).fit(df.select("s", "b"))
    encoded = to_numpy(out)
    assert_array_equal(encoded[:, [0, 1, 2, 3, 4, 5, 7, 8]], theirs.transform(df.select("s", "b")))
    assert_array_equal(encoded[:, 6], df["i"].cast(pl.Float64).fill_null(np.nan).to_numpy())
    assert_array_equal(encoded[:, 9], df["num"].to_numpy())


def test_onehot_label_and_selector_pass_through():
    df = _frame().with_columns(label=pl.int_range(120) % 2)
    enc = sm.OneHotEncoder(columns=cs.string()).fit(df.lazy(), y="label")
    assert enc.feature_names_in_.tolist() == ["s", "i", "b"]
    out = enc.transform(df.lazy()).collect()
    assert out.columns[-2:] == ["b_y", "label"] and out.columns[6] == "i"
    assert_array_equal(out["label"], df["label"])
    assert_array_equal(out["i"], df["i"])
    assert enc.transform(df).columns == out.columns  # in-memory with a label: a frame


def test_onehot_sparse_output_with_numeric_passthrough():
    df = _frame().with_columns(num=pl.int_range(120).cast(pl.Float64))
    enc = sm.OneHotEncoder(columns=["s"]).fit(df.drop("b"))
    out = enc.transform(df.drop("b"))
    assert sparse.issparse(out)
    dense = sm.OneHotEncoder(columns=["s"], sparse_output=False).fit_transform(df.drop("b"))
    assert_array_equal(out.toarray(), dense)
    with pytest.raises(ValueError, match=r"non-numeric passthrough column\(s\) \['b'\]"):
        sm.OneHotEncoder(columns=["s"]).fit_transform(df)


def test_categorical_and_enum_columns_encode_like_strings():
    df = _frame()
    as_string = sm.OneHotEncoder(sparse_output=False).fit(df)
    for dtype in (pl.Categorical(), pl.Enum(["e", "d", "c", "b", "a"])):
        cat = df.with_columns(pl.col("s").cast(dtype))
        enc = sm.OneHotEncoder(sparse_output=False).fit(cat.lazy())
        _assert_same_values(enc.categories_[0], as_string.categories_[0])
        assert_array_equal(to_numpy(enc.transform(cat.lazy())), as_string.transform(df))
        assert_array_equal(to_numpy(as_string.transform(cat.lazy())), as_string.transform(df))


def test_integer_categories_meet_float_input():
    enc = sm.OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    enc.fit(pl.DataFrame({"i": [1, 2, 3]}))
    assert enc.categories_[0].dtype == np.int64
    out = enc.transform(pl.DataFrame({"i": [2.0, 2.5, np.nan]}))
    assert_array_equal(out, [[0, 1, 0], [0, 0, 0], [0, 0, 0]])


def test_set_output_frames_and_sparse_refusal():
    df = _frame()
    enc = sm.OneHotEncoder(sparse_output=False).set_output(transform="polars").fit(df)
    out = enc.transform(df)
    assert isinstance(out, pl.DataFrame) and out.columns == list(enc.get_feature_names_out())
    pdf = sm.OneHotEncoder(sparse_output=False).set_output(transform="pandas").fit_transform(df)
    assert list(pdf.columns) == out.columns
    with pytest.raises(ValueError, match="Polars output does not support sparse data"):
        sm.OneHotEncoder().set_output(transform="polars").fit_transform(df)


@pytest.mark.parametrize("output", ["polars", "pandas", "default"])
@pytest.mark.parametrize("cls", [sm.OneHotEncoder, sm.OrdinalEncoder])
def test_set_output_keeps_lazy_output_lazy(cls, output):
    # scikit-learn's output wrapper must not reach the encoders' own transform: it
    # made a DataFrame of the LazyFrame (TypeError) in fit_transform.
    df = _frame()
    params = {"sparse_output": False} if cls is sm.OneHotEncoder else {}
    enc = cls(**params).set_output(transform=output)
    lazy = enc.fit_transform(df.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    eager = enc.transform(df)
    kind = {"polars": pl.DataFrame, "pandas": pd.DataFrame, "default": np.ndarray}[output]
    assert isinstance(eager, kind)
    assert_array_equal(lazy.collect().to_numpy(), np.asarray(eager))


# -- OrdinalEncoder -------------------------------------------------------------------
@pytest.mark.parametrize("params", ORDINAL_PARAMS, ids=str)
def test_ordinal_matches_sklearn(constructor, params):
    df = _frame()
    X = constructor(df)
    ours = sm.OrdinalEncoder(**params).fit(X)
    theirs = skp.OrdinalEncoder(**params).fit(_sk_input(constructor, df, X))
    _assert_same_fit(ours, theirs)
    out = ours.transform(constructor(df))
    expected = theirs.transform(_sk_input(constructor, df, constructor(df)))
    if constructor.lazy:
        assert isinstance(out, pl.LazyFrame) and out.collect_schema().names() == ["s", "i", "b"]
    else:
        assert isinstance(out, np.ndarray) and out.dtype == expected.dtype
    assert_array_equal(to_numpy(out), expected)
    if params.get("handle_unknown") == "use_encoded_value":
        new = _unknown_frame()
        unknown = ours.transform(constructor(new))
        expected = theirs.transform(_sk_input(constructor, new, constructor(new)))
        assert_array_equal(to_numpy(unknown), expected)


@pytest.mark.parametrize("params", ORDINAL_PARAMS, ids=str)
@pytest.mark.parametrize("kind", ["polars", "pandas"])
def test_ordinal_inverse_transform(params, kind):
    """As scikit-learn; where scikit-learn 1.9 fails (a NaN category and infrequent
    ones: IndexError), the round trip still gives back every category."""
    df = _frame()
    X = df if kind == "polars" else df.to_pandas()
    ours = sm.OrdinalEncoder(**params).fit(X)
    theirs = skp.OrdinalEncoder(**params).fit(X)
    codes = theirs.transform(X)
    restored = ours.inverse_transform(codes)
    try:
        expected = theirs.inverse_transform(codes.copy())
    except IndexError:
        original = df.to_numpy() if kind == "polars" else X.to_numpy(dtype=object)
        expected = np.array(
            [
                [
                    "infrequent_sklearn"
                    if infrequent is not None and _key(v) in {_key(c) for c in infrequent}
                    else v
                    for v, infrequent in zip(row, theirs.infrequent_categories_, strict=True)
                ]
                for row in original
            ],
            dtype=object,
        )
    _assert_same_values(restored, expected)


def test_ordinal_none_is_a_category_nan_is_missing():
    """scikit-learn encodes None as a category of its own but NaN as missing."""
    with_none = pl.DataFrame({"s": ["b", None, "a"]})
    assert_array_equal(sm.OrdinalEncoder().fit_transform(with_none), [[1.0], [2.0], [0.0]])
    with_nan = with_none.to_pandas()
    assert_array_equal(sm.OrdinalEncoder().fit_transform(with_nan), [[1.0], [np.nan], [0.0]])


def test_ordinal_errors():
    df = _frame()
    with pytest.raises(ValueError, match="unknown_value 1 is one of the values already used"):
        sm.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=1).fit(df)
    with pytest.raises(TypeError, match="unknown_value should only be set"):
        sm.OrdinalEncoder(unknown_value=1).fit(df)
    with pytest.raises(ValueError, match="There are missing values in features"):
        sm.OrdinalEncoder(dtype=np.int64).fit(df)
    with pytest.raises(ValueError, match=r"encoded_missing_value \(0\) is already used .* \['i'\]"):
        sm.OrdinalEncoder(encoded_missing_value=0).fit(df)
    enc = sm.OrdinalEncoder().fit(df)
    with pytest.raises(ValueError, match=r"(?s)\['q', 'zz'\] in column 's'.*\nHint: handle_unkn"):
        enc.transform(_unknown_frame().lazy())


# -- both ------------------------------------------------------------------------------
ENCODERS = [
    sm.OneHotEncoder(sparse_output=False),
    sm.OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=3, drop="first"),
    sm.OneHotEncoder(max_categories=2, drop="if_binary", sparse_output=False),
    sm.OrdinalEncoder(min_frequency=0.2, encoded_missing_value=-1),
    sm.OrdinalEncoder(max_categories=3),
]


@settings(max_examples=40, deadline=None)
@given(df=categorical_frames(), data=st.data(), encoder=st.sampled_from(ENCODERS))
def test_any_chunking_gives_the_same_encoder(df, data, encoder):
    cuts = [0, *data.draw(splits(df.height)), df.height]
    parts = [df.slice(a, b - a) for a, b in itertools.pairwise(cuts)]
    whole = sklearn.clone(encoder).fit(df)
    incremental = sklearn.clone(encoder)
    for part in parts:
        incremental.partial_fit(part)
    with tempfile.TemporaryDirectory() as tmp:
        for k, part in enumerate(parts):
            part.write_parquet(Path(tmp) / f"part-{k:03d}.parquet")
        from_files = sklearn.clone(encoder).fit(str(Path(tmp) / "*.parquet"))
    params = {k: v for k, v in encoder.get_params().items() if k != "columns"}
    theirs = getattr(skp, type(encoder).__name__)(**params)
    theirs.fit(df)
    expected = to_numpy(theirs.transform(df))
    for est in (whole, incremental, from_files):
        _assert_same_fit(est, theirs)
        assert_array_equal(to_numpy(est.transform(df)), expected)
        lazy = est.transform(df.lazy()).collect()
        assert lazy.columns == list(est.get_feature_names_out())
        if lazy.width:  # a frame without columns has no rows either
            assert_array_equal(to_numpy(lazy), expected)


def test_fit_state_is_the_value_counts():
    """The fit keeps one row per distinct value, whatever the number of rows."""
    df = pl.concat([_frame(seed) for seed in range(20)])
    enc = sm.OneHotEncoder().fit(df.lazy())
    assert [enc._state.counts[c].height for c in ("s", "i", "b")] == [6, 7, 2]
    assert enc._state.rows == df.height


@pytest.mark.parametrize("Encoder", [sm.OneHotEncoder, sm.OrdinalEncoder])
def test_bad_input_is_named(Encoder, tmp_path):
    df = _frame()
    enc = Encoder().fit(df.lazy())
    with pytest.raises(ValueError, match=r"seen at fit time, yet now missing:\n- i"):
        enc.transform(df.drop("i").lazy())
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        Encoder().fit(df.clear().lazy())
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        Encoder().fit(df.clear())
    with pytest.raises(TypeError, match=r"column 'd' has dtype Date"):
        Encoder().fit(df.with_columns(d=pl.date(2020, 1, 1)).lazy())
    with pytest.raises(TypeError, match=r"Column 's' had string values at fit but has dtype Int64"):
        enc.transform(df.with_columns(s=pl.lit(1, dtype=pl.Int64)).lazy())
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['f'\]"):
        Encoder().fit(pl.DataFrame({"f": [1.0, np.inf]}).lazy())
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['f'\]"):
        Encoder().fit(pl.DataFrame({"f": [1.0]})).transform(pl.DataFrame({"f": [np.inf]}))
    with pytest.raises(TypeError, match=r"uniformly strings or numbers. Got \['int', 'str'\]"):
        Encoder().fit(np.array([["a"], [1]], dtype=object))
    with pytest.raises(TypeError, match="inverse_transform reads in-memory data"):
        enc.inverse_transform(df.lazy())


def test_partial_fit_refuses_a_column_changing_kind():
    enc = sm.OneHotEncoder().partial_fit(pl.DataFrame({"c": ["a"]}))
    with pytest.raises(TypeError, match=r"Column 'c' held String values in one chunk and Int64"):
        enc.partial_fit(pl.DataFrame({"c": [1]}))


def test_duplicate_output_names_are_refused():
    df = pl.DataFrame({"a": ["b_c"], "a_b": ["c"]})
    with pytest.raises(ValueError, match=r"duplicate names \['a_b_c'\]"):
        sm.OneHotEncoder(sparse_output=False).fit(df).transform(df.lazy())


def test_object_arrays_match_sklearn():
    """scikit-learn keeps the Python objects of an object array: ints stay ints and
    None/NaN are spelled as given."""
    X = np.array([["a", 1], [np.nan, None], ["b", 3], ["a", 1]], dtype=object)
    ours, theirs = sm.OneHotEncoder().fit(X), skp.OneHotEncoder().fit(X)
    _assert_same_fit(ours, theirs)
    assert_array_equal(ours.transform(X).toarray(), theirs.transform(X).toarray())
    rows = [["a", 1], ["b", 3]]
    assert_array_equal(sm.OrdinalEncoder().fit(rows).categories_[1], [1, 3])
