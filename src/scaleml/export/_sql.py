"""A fitted estimator or pipeline as one DuckDB SELECT statement.

Each estimator class registers a function with :func:`sql_step` (a
``functools.singledispatch`` registry) that writes its transform or prediction from
its fitted attributes (``mean_``, ``scale_``, ``statistics_``, ``categories_``,
``coef_``, ``intercept_``, ``cluster_centers_``...). A step is one or more *stages*,
each a list of ``(sql expression, output name)``; every stage becomes one SELECT, and
a pipeline chains them as common table expressions::

    WITH "__scaleml_0" AS (SELECT ... FROM "t"), "__scaleml_1" AS (SELECT ...)
    SELECT ... FROM "__scaleml_1"

Identifiers are always double-quoted (quotes doubled), strings single-quoted (quotes
doubled), floats written with ``repr`` in exponent form (DuckDB reads ``0.1`` as a
DECIMAL but ``1e-1`` as a DOUBLE, so the value round-trips exactly), and NaN or
infinities as casts of their names.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from scaleml.cluster import KMeans, MiniBatchKMeans
from scaleml.export._common import default_method, input_columns, pipeline_steps, unsupported
from scaleml.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from scaleml.preprocessing import (
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    SimpleImputer,
    StandardScaler,
)
from scaleml.preprocessing._categories import kind_of
from scaleml.preprocessing._encoder_base import polars_dtype

__all__ = ["Stage", "quote_identifier", "sql_literal", "sql_step", "to_sql"]

#: One SELECT: ``[(sql expression, output column name)]``.
Stage = list[tuple[str, str]]
Refs = dict[str, str]


# -- quoting ----------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier, inner double quotes doubled.

    Examples
    --------
    >>> print(quote_identifier('a"b'))
    "a""b"
    """
    return '"' + str(name).replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """A SQL literal of `value`: NULL, TRUE/FALSE, an integer, a DOUBLE or a string.

    Floats are written with ``repr`` (shortest round-trip) in exponent form so DuckDB
    reads them as DOUBLE; NaN and infinities become casts of their names.

    Examples
    --------
    >>> sql_literal(0.1), sql_literal(float("nan")), sql_literal("it's"), sql_literal(None)
    ('1e-1', "CAST('NaN' AS DOUBLE)", "'it''s'", 'NULL')
    """
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _float_literal(float(value))
    if isinstance(value, (str, np.str_)):
        return "'" + str(value).replace("'", "''") + "'"
    msg = f"Cannot write a SQL literal of {value!r} (type {type(value).__qualname__})."
    raise TypeError(msg)


def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(x):
        return "CAST('Infinity' AS DOUBLE)" if x > 0 else "CAST('-Infinity' AS DOUBLE)"
    text = repr(x)
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    out = f"{mantissa}e{exponent or 0}"
    # Parenthesised so that "x - -1e0" or "x * -1e0" never reads as a comment or typo.
    return f"({out})" if out.startswith("-") else out


def _num(ref: str) -> str:
    return f"CAST({ref} AS DOUBLE)"


_SQL_TYPES = {
    pl.Float64: "DOUBLE",
    pl.Float32: "FLOAT",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Int16: "SMALLINT",
    pl.Int8: "TINYINT",
    pl.UInt64: "UBIGINT",
    pl.UInt32: "UINTEGER",
    pl.UInt16: "USMALLINT",
    pl.UInt8: "UTINYINT",
    pl.Boolean: "BOOLEAN",
}


def _sql_type(dtype: pl.DataType) -> str:
    for pl_type, name in _SQL_TYPES.items():
        if dtype == pl_type:
            return name
    msg = f"No SQL type for the output dtype {dtype}."
    raise TypeError(msg)


# -- the registry -----------------------------------------------------------------------
@functools.singledispatch
def sql_step(est: Any, refs: Refs, method: str) -> list[Stage]:
    """The SQL stages of one fitted estimator (a ``functools.singledispatch`` registry).

    Parameters
    ----------
    est : fitted estimator
    refs : dict
        Each input column ``est`` was fitted on -> the SQL expression of that column in
        the incoming relation (a quoted identifier).
    method : {"transform", "predict", "predict_proba", "decision_function"}

    Returns
    -------
    list of stages, each a list of ``(sql expression, output name)``; the expressions
    of a stage after the first refer to the output names of the stage before it.

    Register an estimator class with ``@sql_step.register(MyEstimator)``.
    """
    raise unsupported(est, method, "to_sql")


def _expect(est: Any, method: str, *allowed: str) -> None:
    if method not in allowed:
        raise unsupported(est, method, "to_sql")


def _in_place(est: Any, refs: Refs, mapping: dict[str, Stage]) -> Stage:
    """The output of a column-wise transformer: each fitted column replaced in place by
    its expressions, the other columns passed through under their names."""
    out: Stage = []
    for col in input_columns(est):
        out.extend(mapping[col] if col in mapping else [(refs[col], col)])
    return out


# -- scalers ----------------------------------------------------------------------------
def _affine(est: Any, refs: Refs, offset: np.ndarray, scale: np.ndarray) -> Stage:
    return _in_place(
        est,
        refs,
        {
            c: [(f"({_num(refs[c])} - {sql_literal(o)}) / {sql_literal(s)}", c)]
            for c, o, s in zip(est._fit_columns, offset, scale, strict=True)
        },
    )


@sql_step.register(StandardScaler)
def _standard_scaler(est: StandardScaler, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    k = len(est._fit_columns)
    offset = est.mean_ if est.with_mean and est.mean_ is not None else np.zeros(k)
    scale = est.scale_ if est.with_std and est.scale_ is not None else np.ones(k)
    return [_affine(est, refs, offset, scale)]


@sql_step.register(RobustScaler)
def _robust_scaler(est: RobustScaler, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    k = len(est._fit_columns)
    offset = est.center_ if est.center_ is not None else np.zeros(k)
    scale = est.scale_ if est.scale_ is not None else np.ones(k)
    return [_affine(est, refs, offset, scale)]


@sql_step.register(MaxAbsScaler)
def _max_abs_scaler(est: MaxAbsScaler, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    return [_affine(est, refs, np.zeros(len(est._fit_columns)), est.scale_)]


@sql_step.register(MinMaxScaler)
def _min_max_scaler(est: MinMaxScaler, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    lo, hi = (sql_literal(float(v)) for v in est.feature_range)
    mapping = {}
    for c, s, m in zip(est._fit_columns, est.scale_, est.min_, strict=True):
        e = f"{_num(refs[c])} * {sql_literal(s)} + {sql_literal(m)}"
        if est.clip:
            # DuckDB orders NaN above every number; Polars' clip keeps NaN.
            e = (
                f"CASE WHEN isnan({e}) THEN {e} WHEN {e} < {lo} THEN {lo} "
                f"WHEN {e} > {hi} THEN {hi} ELSE {e} END"
            )
        mapping[c] = [(e, c)]
    return [_in_place(est, refs, mapping)]


@sql_step.register(KBinsDiscretizer)
def _kbins_discretizer(est: KBinsDiscretizer, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    out_type = "FLOAT" if est.dtype is np.float32 else "DOUBLE"
    mapping: dict[str, Stage] = {}
    for c, edges, n in zip(est._fit_columns, est.bin_edges_, est.n_bins_, strict=True):
        x = _num(refs[c])
        # The bin is the number of inner edges <= x (searchsorted, side="right").
        count = " + ".join(f"CAST({x} >= {sql_literal(float(e))} AS BIGINT)" for e in edges[1:-1])
        idx = f"CASE WHEN {x} IS NULL OR isnan({x}) THEN NULL ELSE {count or '0'} END"
        if est.encode == "ordinal":
            mapping[c] = [(f"CAST({idx} AS {out_type})", c)]
        else:
            mapping[c] = [
                (f"CAST(({idx}) = {b} AS {out_type})", f"{c}_{float(b)}") for b in range(int(n))
            ]
    return [_in_place(est, refs, mapping)]


# -- imputer ----------------------------------------------------------------------------
def _missing_sql(ref: str, dtype: pl.DataType, missing_values: Any) -> str:
    from scaleml.preprocessing._impute import _is_nan_marker

    if _is_nan_marker(missing_values):
        return f"({ref} IS NULL OR isnan({ref}))" if dtype.is_float() else f"({ref} IS NULL)"
    if missing_values is None:
        return f"({ref} IS NULL)"
    if isinstance(missing_values, str):
        matches = dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))
    else:
        matches = dtype.is_numeric()
    return f"COALESCE({ref} = {sql_literal(missing_values)}, FALSE)" if matches else "FALSE"


@sql_step.register(SimpleImputer)
def _simple_imputer(est: SimpleImputer, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    masks = {
        c: _missing_sql(refs[c], est._schema_in[c], est.missing_values) for c in est._fit_columns
    }
    mapping: dict[str, Stage] = {}
    for c, stat, kept in zip(est._fit_columns, est.statistics_, est._kept(), strict=True):
        if not kept:
            mapping[c] = []
            continue
        # Numeric strategies give floats; the others keep the column's type.
        fill, value = (
            (sql_literal(float(stat)), _num(refs[c]))
            if est._numeric
            else (sql_literal(stat), refs[c])
        )
        mapping[c] = [(f"CASE WHEN {masks[c]} THEN {fill} ELSE {value} END", c)]
    out = _in_place(est, refs, mapping)
    out += [(masks[c], f"missingindicator_{c}") for c in est._indicator_columns()]
    return [out]


# -- encoders ---------------------------------------------------------------------------
def _key_sql(est: Any, i: int, col: str, ref: str) -> tuple[str, str]:
    """The column as a lookup key (missing -> NULL) and its kind, as ``key_expr``."""
    kind = est._columns[i].kind
    in_kind = kind_of(est._schema_in[col])
    kinds = {kind, in_kind} - {"null"}
    target = "float" if "float" in kinds else (kinds.pop() if kinds else "null")
    if target == "float":
        x = _num(ref)
        return f"CASE WHEN isnan({x}) THEN NULL ELSE {x} END", target
    sql_type = {"int": "BIGINT", "bool": "BOOLEAN"}.get(target, "VARCHAR")
    return f"CAST({ref} AS {sql_type})", target


def _value_literal(value: Any, target: str) -> str:
    if target == "float":
        return sql_literal(float(value))
    if target == "int":
        return sql_literal(int(value))
    if target == "bool":
        return sql_literal(bool(value))
    return sql_literal(str(value))


def _member_sql(key: str, values: Sequence[str], with_missing: bool) -> str:
    hit = f"COALESCE({key} IN ({', '.join(values)}), FALSE)" if values else "FALSE"
    return f"({hit} OR {key} IS NULL)" if with_missing else hit


def _checked_key(est: Any, col: str, key: str, values: list[str], has_missing: bool) -> str:
    """`key`, or a DuckDB error naming the column and value when it is unknown."""
    shown = f"COALESCE(CAST({key} AS VARCHAR), 'None')"
    message = sql_literal(f"Found unknown categories in column {col!r} during transform: ")
    known = _member_sql(key, values, has_missing)
    return f"CASE WHEN {known} THEN {key} ELSE error({message} || {shown}) END"


def _encoder_stages(est: Any, refs: Refs, encode: Any) -> list[Stage]:
    """Two stages: the lookup key of every encoded column (checked against the known
    categories with ``handle_unknown="error"``), then ``encode(i, col, key, literals)``
    of each. Computing the key once keeps the SQL linear in the number of categories."""
    keys: Stage = []
    literals = {}
    for i, col in enumerate(est._fit_columns):
        info = est._columns[i]
        key, target = _key_sql(est, i, col, refs[col])
        literals[col] = [_value_literal(v, target) for v in info.values]
        if est.handle_unknown == "error":
            key = _checked_key(est, col, key, literals[col], info.has_missing)
        keys.append((key, f"__key{i}"))
    fitted = set(est._fit_columns)
    passthrough = [(refs[c], c) for c in input_columns(est) if c not in fitted]
    refs2 = {name: quote_identifier(name) for _, name in passthrough}
    mapping = {
        col: encode(i, col, quote_identifier(f"__key{i}"), literals[col])
        for i, col in enumerate(est._fit_columns)
    }
    return [passthrough + keys, _in_place(est, refs2, mapping)]


@sql_step.register(OneHotEncoder)
def _one_hot_encoder(est: OneHotEncoder, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    out_type = _sql_type(polars_dtype(est.dtype))
    names = est._output_names({c: c for c in est._fit_columns})

    def encode(i: int, col: str, key: str, literals: list[str]) -> Stage:
        info, grouping = est._columns[i], est._grouping(i)
        absorb, drop = est._absorbing_group(i), est._dropped(i)
        order = np.argsort(grouping, kind="stable")
        bounds = np.cumsum(np.bincount(grouping))
        n_values = len(info.values)
        exprs = []
        for g, members in enumerate(np.split(order, bounds[:-1])):
            if g == drop:
                continue
            if g == absorb:
                # Unknown values land here too: "not any other known category".
                members = np.setdiff1d(np.arange(grouping.size), members)
            values = [literals[j] for j in members if j < n_values]
            hit = _member_sql(key, values, info.has_missing and n_values in members)
            exprs.append(f"NOT {hit}" if g == absorb else hit)
        return [
            (f"CAST({e} AS {out_type})", name) for e, name in zip(exprs, names[col], strict=True)
        ]

    return _encoder_stages(est, refs, encode)


@sql_step.register(OrdinalEncoder)
def _ordinal_encoder(est: OrdinalEncoder, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "transform")
    out_type = _sql_type(polars_dtype(est.dtype))
    unknown = est.unknown_value if est.handle_unknown == "use_encoded_value" else None

    def encode(i: int, col: str, key: str, literals: list[str]) -> Stage:
        info, codes = est._columns[i], est._regular_codes(i)
        if not info.has_missing:
            missing = unknown
        elif i in est._missing_indices:
            missing = est.encoded_missing_value
        else:
            missing = int(codes[-1])
        whens = " ".join(
            f"WHEN {v} THEN {sql_literal(code)}" for v, code in zip(literals, codes, strict=False)
        )
        mapped = (
            f"CASE {key} {whens} ELSE {sql_literal(unknown)} END" if whens else sql_literal(unknown)
        )
        expr = f"CASE WHEN {key} IS NULL THEN {sql_literal(missing)} ELSE {mapped} END"
        return [(f"CAST({expr} AS {out_type})", col)]

    return _encoder_stages(est, refs, encode)


# -- linear models ----------------------------------------------------------------------
def _linear_sql(est: Any, refs: Refs, coef: np.ndarray, intercept: float) -> str:
    terms = [
        f"{sql_literal(float(w))} * {_num(refs[c])}"
        for c, w in zip(input_columns(est), coef, strict=True)
    ]
    return f"({' + '.join(terms) or '0e0'}) + {sql_literal(float(intercept))}"


@sql_step.register(LinearRegression)
@sql_step.register(Ridge)
@sql_step.register(RidgeCV)
@sql_step.register(SGDRegressor)
def _linear_regressor(est: Any, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "predict")
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = np.ravel(np.asarray(est.intercept_, dtype=np.float64))
    if coef.ndim == 1:
        return [[(_linear_sql(est, refs, coef, intercept[0]), "prediction")]]
    intercept = np.broadcast_to(intercept, (coef.shape[0],))
    return [
        [
            (_linear_sql(est, refs, w, b), f"prediction_{j}")
            for j, (w, b) in enumerate(zip(coef, intercept, strict=True))
        ]
    ]


def _first_best(names: Sequence[str], labels: Sequence[str], op: str) -> str:
    """CASE picking the label of the first maximal (``op=">="``) or minimal (``"<="``)
    column, as NumPy's argmax / argmin break ties."""
    refs = [quote_identifier(n) for n in names]
    whens = []
    for k in range(len(refs) - 1):
        cond = " AND ".join(f"{refs[k]} {op} {r}" for r in refs[k + 1 :])
        whens.append(f"WHEN {cond} THEN {labels[k]}")
    return f"CASE {' '.join(whens)} ELSE {labels[-1]} END" if whens else labels[0]


@sql_step.register(LogisticRegression)
@sql_step.register(SGDClassifier)
def _linear_classifier(est: Any, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "predict", "predict_proba", "decision_function")
    classes = list(est.classes_)
    scores = [_linear_sql(est, refs, w, b) for w, b in zip(est.coef_, est.intercept_, strict=True)]
    if method == "decision_function":
        if len(scores) == 1:
            return [[(scores[0], "decision")]]
        return [[(s, f"decision_{c}") for s, c in zip(scores, classes, strict=True)]]
    d = [f"__d{k}" for k in range(len(scores))]
    decisions: Stage = list(zip(scores, d, strict=True))
    labels = [sql_literal(c.item() if isinstance(c, np.generic) else c) for c in classes]
    if method == "predict":
        if len(d) == 1:
            x = quote_identifier(d[0])
            pred = (
                f"CASE WHEN {x} IS NULL OR isnan({x}) THEN NULL WHEN {x} > 0 "
                f"THEN {labels[1]} ELSE {labels[0]} END"
            )
        else:
            missing = " OR ".join(
                f"{quote_identifier(n)} IS NULL OR isnan({quote_identifier(n)})" for n in d
            )
            pred = f"CASE WHEN {missing} THEN NULL ELSE {_first_best(d, labels, '>=')} END"
        return [decisions, [(pred, "prediction")]]
    names = [f"proba_{c}" for c in classes]
    return [decisions, *_proba_stages(est, d, names)]


def _sigmoid(ref: str) -> str:
    return f"1e0 / (1e0 + exp(-{ref}))"


def _proba_stages(est: Any, d: list[str], names: list[str]) -> list[Stage]:
    refs = [quote_identifier(n) for n in d]
    softmax = isinstance(est, LogisticRegression)
    huber = isinstance(est, SGDClassifier) and est.loss == "modified_huber"
    if isinstance(est, SGDClassifier) and est.loss not in ("log_loss", "modified_huber"):
        raise unsupported(est, "predict_proba", "to_sql")
    if huber:
        probs = [f"(LEAST(GREATEST({r}, -1e0), 1e0) + 1e0) / 2e0" for r in refs]
    else:
        probs = [_sigmoid(r) for r in refs]
    if len(refs) == 1:
        return [[(f"1e0 - ({probs[0]})", names[0]), (probs[0], names[1])]]
    p = [f"__p{k}" for k in range(len(refs))]
    if softmax:
        # Shifted by the largest decision, as scipy's softmax: exp never overflows.
        top = f"GREATEST({', '.join(refs)})"
        probs = [f"exp({r} - {top})" for r in refs]
    first: Stage = list(zip(probs, p, strict=True))
    total = " + ".join(quote_identifier(n) for n in p)
    if huber:
        uniform = sql_literal(1.0 / len(p))
        last = [
            (
                f"CASE WHEN ({total}) = 0 THEN {uniform} "
                f"ELSE {quote_identifier(n)} / ({total}) END",
                name,
            )
            for n, name in zip(p, names, strict=True)
        ]
    else:
        last = [
            (f"{quote_identifier(n)} / ({total})", name) for n, name in zip(p, names, strict=True)
        ]
    return [first, last]


# -- clustering -------------------------------------------------------------------------
@sql_step.register(KMeans)
@sql_step.register(MiniBatchKMeans)
def _kmeans(est: Any, refs: Refs, method: str) -> list[Stage]:
    _expect(est, method, "predict", "transform")
    columns = input_columns(est)
    distances = []
    for center in est.cluster_centers_:
        terms = []
        for c, value in zip(columns, center, strict=True):
            diff = f"({_num(refs[c])} - {sql_literal(float(value))})"
            terms.append(f"{diff} * {diff}")
        distances.append(" + ".join(terms))
    s = [f"__s{k}" for k in range(len(distances))]
    valid = " AND ".join(f"COALESCE(isfinite({_num(refs[c])}), FALSE)" for c in columns)
    first: Stage = [*zip(distances, s, strict=True), (valid, "__valid")]
    if method == "transform":
        names = [str(n) for n in est.get_feature_names_out()]
        return [first, [(f"sqrt({quote_identifier(a)})", b) for a, b in zip(s, names, strict=True)]]
    labels = [str(k) for k in range(len(s))]
    nearest = _first_best(s, labels, "<=")
    pred = f"CASE WHEN {quote_identifier('__valid')} THEN CAST({nearest} AS INTEGER) END"
    return [first, [(pred, "prediction")]]


# -- composing --------------------------------------------------------------------------
def _table_ref(table: str | Sequence[str]) -> str:
    if isinstance(table, str):
        return quote_identifier(table)
    return ".".join(quote_identifier(part) for part in table)


def to_sql(
    fitted: Any,
    table: str | Sequence[str] = "t",
    *,
    method: str | None = None,
    dialect: str = "duckdb",
) -> str:
    """A DuckDB SELECT statement reproducing a fitted estimator or pipeline.

    Transformers give their transform (columns named as ``get_feature_names_out()``);
    a pipeline or estimator ending in a predictor gives its prediction (column
    ``prediction``), or ``predict_proba`` (``proba_<class>``) or
    ``decision_function`` (``decision`` / ``decision_<class>``) with `method`. Each
    step (and each stage of a step) is one SELECT, chained as common table
    expressions. The label column, if any, is not part of the output.

    Parameters
    ----------
    fitted : fitted scaleml estimator, or a fitted sklearn Pipeline of them
    table : str or sequence of str, default="t"
        The table (or ``(schema, table)``) holding the input columns under the names
        the first step was fitted with (``x0, x1, ...`` for a numpy fit).
    method : {"transform", "predict", "predict_proba", "decision_function"}, optional
        What the last step computes (default: predict, or transform for a
        transformer).
    dialect : {"duckdb"}, default="duckdb"

    Returns
    -------
    str

    Raises
    ------
    NotImplementedError
        For an estimator class or method without a registered export.

    Notes
    -----
    Transforms that raise on unknown categories (``handle_unknown="error"``) call
    DuckDB's ``error()`` on such a row.

    Examples
    --------
    >>> import duckdb
    >>> import polars as pl
    >>> from scaleml import StandardScaler
    >>> t = pl.DataFrame({"a": [0.0, 2.0, 4.0]})
    >>> sql = to_sql(StandardScaler().fit(t), "t")
    >>> print(sql)
    SELECT
      (CAST("a" AS DOUBLE) - 2e0) / 1.632993161855452e0 AS "a"
    FROM "t"
    >>> duckdb.sql(sql).pl()["a"].round(4).to_list()
    [-1.2247, 0.0, 1.2247]
    """
    if dialect != "duckdb":
        msg = f"dialect must be 'duckdb'; got {dialect!r}."
        raise ValueError(msg)
    steps = pipeline_steps(fitted)
    incoming = input_columns(steps[0][1])
    source = _table_ref(table)
    selects: list[str] = []
    for i, (name, est) in enumerate(steps):
        columns = input_columns(est)
        if len(columns) != len(incoming):
            msg = (
                f"Step {name!r} was fitted on {len(columns)} columns but the previous step "
                f"outputs {len(incoming)}."
            )
            raise ValueError(msg)
        refs = {c: quote_identifier(n) for c, n in zip(columns, incoming, strict=True)}
        stages = sql_step(est, refs, default_method(est, method, last=i == len(steps) - 1))
        for stage in stages:
            selects.append(_select(stage, source))
            source = quote_identifier(f"__scaleml_{len(selects) - 1}")
        incoming = [n for _, n in stages[-1]]
    ctes = [
        f"{quote_identifier(f'__scaleml_{k}')} AS (\n{_indent(s)}\n)"
        for k, s in enumerate(selects[:-1])
    ]
    head = f"WITH {(',' + chr(10)).join(ctes)}\n" if ctes else ""
    return head + selects[-1]


def _select(stage: Stage, source: str) -> str:
    columns = ",\n".join(f"  {expr} AS {quote_identifier(name)}" for expr, name in stage)
    return f"SELECT\n{columns}\nFROM {source}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
