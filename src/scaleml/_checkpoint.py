"""Atomic checkpoints for multi-pass fits: state + position, resumable after a crash."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["Checkpoint", "fingerprint"]

_IGNORED_PARAMS = {"checkpoint", "verbose", "n_jobs", "cache"}


def fingerprint(est: Any, lf: pl.LazyFrame, *extra: Any) -> str:
    """Identify a fit: the estimator's parameters and the query plan of its data.

    The plan names the files (or in-memory frames) and every operation on them, so a
    checkpoint written by another fit is never resumed by mistake.
    """
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in _IGNORED_PARAMS}
    plan = lf.explain(optimized=False)
    text = "\n".join(
        [
            type(est).__qualname__,
            repr(sorted(params.items(), key=lambda kv: kv[0])),
            plan,
            _content_digest(lf) if _IN_MEMORY in plan else "",
            *map(repr, extra),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


#: How an in-memory DataFrame appears in a query plan.
_IN_MEMORY = "DF ["


def _content_digest(lf: pl.LazyFrame) -> str:
    """A digest of the values of in-memory data, which its plan does not show.

    Two in-memory frames of the same columns have the same plan; without this, a
    checkpoint written for one could be resumed by a fit on the other.
    """
    row_hashes = pl.struct(pl.all()).hash(seed=0)
    aggregates = [row_hashes.sum().alias("sum"), row_hashes.max().alias("max"), pl.len()]
    return repr(lf.select(aggregates).collect().row(0))


class Checkpoint:
    """Where a fit saves ``(state, position)`` after each step, atomically.

    Parameters
    ----------
    path : str, Path or None
        The checkpoint file; None disables checkpointing.
    key : str
        The fit's :func:`fingerprint`.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.ckpt")
    >>> ckpt = Checkpoint(path, key="abc")
    >>> ckpt.ensure_writable()
    >>> ckpt.save({"w": [1.0]}, position=3)
    >>> ckpt.load()
    ({'w': [1.0]}, 3)
    >>> ckpt.remove()
    >>> ckpt.load() is None
    True
    """

    def __init__(self, path: str | os.PathLike[str] | None, key: str) -> None:
        self.path = None if path is None else Path(path)
        self.key = key

    def __bool__(self) -> bool:
        return self.path is not None

    def ensure_writable(self) -> None:
        """Fail now, before any work, when the checkpoint cannot be written."""
        if self.path is None:
            return
        directory = self.path.parent
        if not directory.is_dir():
            msg = f"checkpoint={str(self.path)!r}: the directory {str(directory)!r} does not exist."
            raise FileNotFoundError(msg)
        try:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".scaleml-probe-"):
                pass
        except OSError as exc:
            msg = f"checkpoint={str(self.path)!r} is not writable: {exc}"
            raise PermissionError(msg) from exc

    def load(self) -> tuple[Any, Any] | None:
        """The saved ``(state, position)``, or None when there is no checkpoint."""
        if self.path is None or not self.path.exists():
            return None
        try:
            with self.path.open("rb") as f:
                payload = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            msg = f"checkpoint={str(self.path)!r} cannot be read ({exc}); delete it to start over."
            raise ValueError(msg) from exc
        if payload.get("key") != self.key:
            msg = (
                f"checkpoint={str(self.path)!r} was written by a different fit (other "
                "parameters or data). Delete it, or pass another path, to start over."
            )
            raise ValueError(msg)
        return payload["state"], payload["position"]

    def save(self, state: Any, position: Any) -> None:
        """Write atomically: a crash leaves either the old or the new checkpoint."""
        if self.path is None:
            return
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(
                    {"key": self.key, "state": state, "position": position},
                    f,
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self) -> None:
        """Delete the checkpoint once the fit has finished."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
