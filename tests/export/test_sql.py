"""to_sql: the SQL run by DuckDB equals transform / predict, for every covered estimator."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import scaleml as sm
from scaleml.export import quote_identifier, sql_literal, to_sql
from tests.conftest import to_numpy
from tests.export._cases import CASES, COMPLETE, MIXED, full_pipeline, make_data


def _run(sql: str, **tables: pl.DataFrame) -> pl.DataFrame:
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(name, frame.to_arrow())
    return con.sql(sql).pl()


def _assert_same(sql_out: pl.DataFrame, expected, method: str) -> None:
    """SQL output equals an estimator's: labels exactly, numbers to 1e-9, strings
    exactly (frames compared column by column)."""
    if isinstance(expected, pl.LazyFrame):
        expected = expected.collect()
    if isinstance(expected, pl.DataFrame):
        assert sql_out.columns == expected.columns
        for name in expected.columns:
            got, want = sql_out[name], expected[name]
            if want.dtype.is_numeric() or want.dtype == pl.Boolean:
                assert_allclose(
                    got.cast(pl.Float64).to_numpy(),
                    want.cast(pl.Float64).to_numpy(),
                    rtol=1e-9,
                    atol=1e-9,
                    equal_nan=True,
                    err_msg=name,
                )
            else:
                assert got.to_list() == want.to_list(), name
        return
    want = np.asarray(expected)
    if method == "predict" and want.dtype.kind in "iuObU":
        assert_array_equal(sql_out.to_series().to_numpy(), want.ravel())
        return
    got = to_numpy(sql_out)
    assert_allclose(got, to_numpy(want).reshape(got.shape), rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize(
    ("case", "est", "features", "label", "methods"), CASES, ids=[c[0] for c in CASES]
)
def test_sql_equals_the_estimator(case, est, features, label, methods):
    df = make_data()
    est = clone(est).fit(df.select(*features, *([label] if label else [])).lazy(), y=label)
    X = df.select(features)
    for method in methods:
        sql = to_sql(est, "data", method=method)
        out = _run(sql, data=X)
        lazy = getattr(est, method)(X.lazy()).collect()
        assert out.columns == lazy.columns, (method, out.columns)
        _assert_same(out, lazy, method)
        if method != "transform" or all(dt.is_numeric() for dt in lazy.dtypes):
            _assert_same(out, getattr(est, method)(X), method)  # in-memory output


def test_pipeline_imputer_scaler_onehot_logistic():
    df = make_data()
    pipe = full_pipeline().fit(df.select(*MIXED, "binary").lazy(), y="binary")
    X = df.select(MIXED)
    for method in ("predict", "predict_proba", "decision_function"):
        out = _run(to_sql(pipe, "t", method=method), t=X)
        _assert_same(out, getattr(pipe, method)(X.lazy()).collect(), method)
    pred = _run(to_sql(pipe, "t"), t=X)["prediction"].to_numpy()
    assert_array_equal(pred, pipe.predict(X.lazy()).collect()["prediction"].to_numpy())
    # The transform of the pipeline's transformers alone.
    transform = _run(to_sql(pipe[:-1], "t"), t=X)
    assert transform.columns == list(pipe[:-1].get_feature_names_out())
    _assert_same(transform, pipe[:-1].transform(X.lazy()).collect(), "transform")


def test_numpy_fitted_pipeline_renames_columns_by_position():
    df = make_data()
    X = df.select(COMPLETE).to_numpy()
    pipe = make_pipeline(
        sm.StandardScaler(), sm.KMeans(n_clusters=3, n_init=1, random_state=0)
    ).fit(X)
    out = _run(to_sql(pipe, "t"), t=pl.DataFrame(X, schema=["x0", "x1", "x2"], orient="row"))
    assert_array_equal(out["prediction"].to_numpy(), pipe.predict(X))


HOSTILE = ["a b", 'a"b', "'; DROP TABLE x; --", "é☃ü", "select"]


def test_hostile_column_names_and_categories():
    rng = np.random.default_rng(1)
    n = 80
    x = rng.normal(size=n)
    x[:5] = np.nan
    df = pl.DataFrame(
        {
            HOSTILE[0]: x,
            HOSTILE[1]: rng.normal(size=n),
            HOSTILE[2]: rng.choice(["it's", '"q"', "--", "a\\b"], n),
            HOSTILE[3]: rng.integers(0, 3, n),
            HOSTILE[4]: rng.normal(size=n),
            "y": rng.integers(0, 2, n),
        }
    )
    pipe = make_pipeline(
        sm.SimpleImputer(columns=[HOSTILE[0]], add_indicator=True),
        sm.StandardScaler(columns=[HOSTILE[0], HOSTILE[1], HOSTILE[4]]),
        sm.OneHotEncoder(columns=[HOSTILE[2], HOSTILE[3]], sparse_output=False),
        sm.LogisticRegression(),
    ).fit(df.lazy(), y="y")
    X = df.drop("y")
    table = 'my "table"; --'
    sql = to_sql(pipe, table, method="predict_proba")
    con = duckdb.connect()
    con.execute("CREATE TABLE x (i INTEGER)")
    con.register(table, X.to_arrow())
    out = con.sql(sql).pl()
    _assert_same(out, pipe.predict_proba(X.lazy()).collect(), "predict_proba")
    assert con.execute("SELECT count(*) FROM x").fetchall() == [(0,)]  # still there
    names = _run(to_sql(pipe[:-1], table), **{table: X}).columns
    assert names == list(pipe[:-1].get_feature_names_out())


def test_unknown_category_raises_in_duckdb_when_the_encoder_would():
    df = pl.DataFrame({"c": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
    enc = sm.OrdinalEncoder(columns=["c"]).fit(df.lazy())
    with pytest.raises(duckdb.InvalidInputException, match=r"unknown categories in column 'c'.*zz"):
        _run(to_sql(enc, "t"), t=pl.DataFrame({"c": ["a", "zz"], "x": [1.0, 2.0]}))
    ohe = sm.OneHotEncoder(columns=["c"]).fit(df.lazy())
    with pytest.raises(duckdb.InvalidInputException, match="column 'c'"):
        _run(to_sql(ohe, "t"), t=pl.DataFrame({"c": [None, "a"], "x": [1.0, 2.0]}))
    ignore = sm.OneHotEncoder(columns=["c"], handle_unknown="ignore").fit(df.lazy())
    out = _run(to_sql(ignore, "t"), t=pl.DataFrame({"c": ["zz"], "x": [1.0]}))
    assert out.row(0) == (0.0, 0.0, 1.0)


#: One connection for the property tests (connecting costs more than the query).
_CON = duckdb.connect()


@settings(max_examples=150, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([5e-324, -0.0, 1e308, 0.1]))
def test_float_literals_round_trip_through_duckdb(value):
    literal = sql_literal(value)
    got = _CON.execute(f"SELECT {literal} AS v, typeof({literal})").fetchall()[0]
    assert got[1] == "DOUBLE"
    if math.isnan(value):
        assert math.isnan(got[0])
    else:
        assert got[0] == value and math.copysign(1, got[0]) == math.copysign(1, value)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s))
def test_identifiers_and_strings_are_quoted_safely(text):
    out = _CON.sql(f"SELECT {sql_literal(text)} AS {quote_identifier(text)}").pl()
    assert out.columns == [text] and out.item() == text


def test_unsupported_estimator_method_and_dialect():
    X = make_data().select(COMPLETE)
    with pytest.raises(NotImplementedError, match="no 'transform' export for PCA"):
        to_sql(sm.PCA(n_components=1).fit(X))
    with pytest.raises(NotImplementedError, match="'predict_proba' export for LinearRegression"):
        to_sql(sm.LinearRegression().fit(X, np.arange(X.height)), method="predict_proba")
    with pytest.raises(ValueError, match="dialect must be 'duckdb'"):
        to_sql(sm.StandardScaler().fit(X), dialect="postgres")
    with pytest.raises(ValueError, match="method must be one of"):
        to_sql(sm.StandardScaler().fit(X), method="score")
    with pytest.raises(TypeError, match="not a fitted scaleml estimator"):
        from sklearn.preprocessing import StandardScaler

        to_sql(make_pipeline(StandardScaler()).fit(X.to_numpy()))


def test_mixed_dtype_transform_keeps_passthrough_columns():
    df = make_data()
    est = sm.StandardScaler(columns=["x1"]).fit(df.select(MIXED).lazy())
    out = _run(to_sql(est, "t"), t=df.select(MIXED))
    expected = est.transform(df.select(MIXED).lazy()).collect()
    assert out.columns == expected.columns
    assert out["cat"].to_list() == expected["cat"].to_list()
    assert_allclose(out["x1"].to_numpy(), expected["x1"].to_numpy(), rtol=1e-12)
