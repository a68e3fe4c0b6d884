"""Synthetic parquet datasets of any size, generated in bounded memory and cached.

A dataset is a directory of ``part-000.parquet`` ... files plus a ``_meta.json`` holding the
generating parameters (including the true coefficients). It is written chunk by chunk
(at most ``CHUNK_ROWS`` rows in memory at a time) into a temporary directory that is then
atomically renamed into place, so an existing directory is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["CATEGORICALS", "CHUNK_ROWS", "feature_names", "make_dataset"]

#: Bumped whenever the generator changes, so stale cached directories are not reused.
GENERATOR_VERSION = 2
#: Rows generated and written per step; bounds the generator's memory.
CHUNK_ROWS = 1_000_000
#: Rows per parquet row group. A reader decodes a whole row group of the columns it
#: needs at once, so this bounds every reader's memory (128 Ki rows: ~1 MiB a column).
ROW_GROUP_ROWS = 131_072
#: String columns and their cardinalities.
CATEGORICALS = {"cat10": 10, "cat1000": 1_000, "cat100k": 100_000}
#: Fraction of nulls in ``f0`` (the only column with nulls).
NULL_FRACTION = 0.03
#: Exponent of the zipf-like category frequencies (p_k proportional to 1 / (k + 1) ** a).
ZIPF_EXPONENT = 1.0
COMPRESSION = "snappy"


@dataclass(frozen=True)
class _Model:
    """Distribution parameters shared by every chunk of one dataset."""

    means: list[float]
    scales: list[float]
    target_coef: list[float]
    target_intercept: float
    target_noise: float
    label_coef: list[float]
    label_intercept: float


def feature_names(n_features: int) -> list[str]:
    """Return the feature column names ``f0 .. f{n_features - 1}``.

    Parameters
    ----------
    n_features : int
        Number of float features.

    Returns
    -------
    list of str
    """
    return [f"f{i}" for i in range(n_features)]


def make_dataset(
    n_rows: int,
    root: str | os.PathLike[str],
    *,
    n_features: int = 20,
    n_files: int = 8,
    seed: int = 0,
) -> Path:
    """Return the directory of a synthetic parquet dataset, generating it if needed.

    Columns: ``f0 .. f{n_features-1}`` float64 features (``f0`` with 3 % nulls),
    string columns ``cat10``, ``cat1000``, ``cat100k`` (zipf-like frequencies), a
    regression ``target`` and a binary ``label`` from a logistic model of the features.
    At most one million rows are in memory at a time, and the directory appears
    atomically once complete, so an existing one is reused as is.

    Parameters
    ----------
    n_rows : int
        Total number of rows, split as evenly as possible across the files.
    root : path
        Parent directory of the cache; the dataset is a sub-directory named after the
        parameters.
    n_features : int, default 20
        Number of float64 features ``f0 .. f{n_features - 1}``.
    n_files : int, default 8
        Number of parquet files ``part-000.parquet`` ...
    seed : int, default 0
        Seed of every random draw; equal parameters give identical files.

    Returns
    -------
    Path
        The dataset directory; ``str(path / "*.parquet")`` globs all of its files.

    Examples
    --------
    >>> import tempfile
    >>> import scaleml as sm
    >>> path = make_dataset(1_000, tempfile.mkdtemp(), n_files=2)
    >>> sm.scan(str(path / "*.parquet")).select("f1", "cat10", "label").collect().shape
    (1000, 3)
    """
    if n_rows < 1 or n_features < 1 or n_files < 1:
        msg = f"n_rows, n_features and n_files must be >= 1; got {n_rows}, {n_features}, {n_files}."
        raise ValueError(msg)
    root = Path(root)
    final = root / _dataset_name(n_rows, n_features, n_files, seed)
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
    try:
        _write_dataset(tmp, n_rows, n_features, n_files, seed)
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _dataset_name(n_rows: int, n_features: int, n_files: int, seed: int) -> str:
    return f"v{GENERATOR_VERSION}_rows{n_rows}_feat{n_features}_files{n_files}_seed{seed}"


def _publish(tmp: Path, final: Path) -> None:
    """Atomically move the finished `tmp` directory to `final`."""
    try:
        os.replace(tmp, final)
    except OSError:
        # A concurrent generator published the same dataset first; its copy is complete.
        if not final.is_dir():
            raise


def _write_dataset(out: Path, n_rows: int, n_features: int, n_files: int, seed: int) -> None:
    model = _draw_model(n_features, seed)
    vocabularies = {name: _vocabulary(card) for name, card in CATEGORICALS.items()}
    cdfs = {name: _zipf_cdf(card) for name, card in CATEGORICALS.items()}
    schema = _schema(n_features)
    for file_idx, file_rows in enumerate(_split(n_rows, n_files)):
        with pq.ParquetWriter(
            out / f"part-{file_idx:03d}.parquet", schema, compression=COMPRESSION
        ) as writer:
            for chunk_idx, chunk_rows in enumerate(_split_chunks(file_rows)):
                rng = np.random.default_rng([seed, file_idx, chunk_idx])
                table = _make_chunk(rng, chunk_rows, model, vocabularies, cdfs, schema)
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    meta = {
        "n_rows": n_rows,
        "n_features": n_features,
        "n_files": n_files,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "categoricals": CATEGORICALS,
        "null_fraction_f0": NULL_FRACTION,
        **asdict(model),
    }
    (out / "_meta.json").write_text(json.dumps(meta, indent=1))


def _draw_model(n_features: int, seed: int) -> _Model:
    rng = np.random.default_rng([seed, 2**32 - 1])
    scales = rng.uniform(0.5, 3.0, n_features)
    # Label logits are built from standardized features, so their scale does not depend on
    # the feature scales: sd(logit) ~ 2 keeps classes overlapping but learnable.
    label_coef = rng.normal(0.0, 2.0 / np.sqrt(n_features), n_features)
    return _Model(
        means=rng.normal(0.0, 3.0, n_features).tolist(),
        scales=scales.tolist(),
        target_coef=rng.normal(0.0, 1.0, n_features).tolist(),
        target_intercept=float(rng.normal(0.0, 1.0)),
        target_noise=1.0,
        label_coef=label_coef.tolist(),
        label_intercept=float(rng.normal(0.0, 0.5)),
    )


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _split_chunks(rows: int) -> list[int]:
    full, rest = divmod(rows, CHUNK_ROWS)
    return [CHUNK_ROWS] * full + ([rest] if rest else [])


def _vocabulary(cardinality: int) -> pa.Array:
    return pa.array([f"c{k}" for k in range(cardinality)], type=pa.string())


def _zipf_cdf(cardinality: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, cardinality + 1, dtype=np.float64) ** ZIPF_EXPONENT
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return cdf


def _schema(n_features: int) -> pa.Schema:
    fields = [pa.field(name, pa.float64()) for name in feature_names(n_features)]
    fields += [pa.field(name, pa.string(), nullable=False) for name in CATEGORICALS]
    fields += [
        pa.field("target", pa.float64(), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
    ]
    return pa.schema(fields)


def _make_chunk(
    rng: np.random.Generator,
    n: int,
    model: _Model,
    vocabularies: dict[str, pa.Array],
    cdfs: dict[str, np.ndarray],
    schema: pa.Schema,
) -> pa.Table:
    # Feature-major layout keeps each feature a contiguous row that Arrow wraps without a copy.
    z = rng.standard_normal((len(model.means), n))
    x = z * np.asarray(model.scales)[:, None] + np.asarray(model.means)[:, None]
    target = (
        np.asarray(model.target_coef) @ x
        + model.target_intercept
        + rng.normal(0.0, model.target_noise, n)
    )
    logit = np.asarray(model.label_coef) @ z + model.label_intercept
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    columns: list[pa.Array] = [
        pa.array(row, mask=(rng.random(n) < NULL_FRACTION) if j == 0 else None)
        for j, row in enumerate(x)
    ]
    for name, vocab in vocabularies.items():
        codes = np.searchsorted(cdfs[name], rng.random(n), side="right")
        # Guards the float round-off case where a draw lands beyond cdf[-1] == 1.0.
        np.minimum(codes, len(vocab) - 1, out=codes)
        columns.append(vocab.take(pa.array(codes)))
    columns += [pa.array(target), pa.array(label)]
    return pa.Table.from_arrays(columns, schema=schema)
