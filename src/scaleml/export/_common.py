"""What the exporters share: the steps of a fitted pipeline, their columns and methods."""

from __future__ import annotations

from typing import Any

from sklearn.utils.validation import check_is_fitted

__all__ = ["default_method", "input_columns", "pipeline_steps", "unsupported"]

_METHODS = ("transform", "predict", "predict_proba", "decision_function")


def pipeline_steps(fitted: Any) -> list[tuple[str, Any]]:
    """``[(name, estimator)]`` of a fitted sklearn Pipeline (passthrough steps left
    out), or ``[(class name, fitted)]`` for a single estimator."""
    from sklearn.pipeline import Pipeline

    if isinstance(fitted, Pipeline):
        steps = [(n, e) for n, e in fitted.steps if e is not None and e != "passthrough"]
        if not steps:
            msg = "The pipeline has no step to export (every step is 'passthrough')."
            raise ValueError(msg)
    else:
        steps = [(type(fitted).__name__, fitted)]
    for name, est in steps:
        check_is_fitted(est)
        if not hasattr(est, "_columns_in"):
            msg = (
                f"Step {name!r} is a {type(est).__qualname__}, not a fitted scaleml estimator; "
                "only scaleml estimators can be exported."
            )
            raise TypeError(msg)
    return steps


def input_columns(est: Any) -> list[str]:
    """The columns `est` was fitted on, in order (its input positions)."""
    return [str(c) for c in est._columns_in]


def default_method(est: Any, method: str | None, *, last: bool) -> str:
    """The method a step is exported for: transform for inner steps; for the last,
    `method` or predict (transform for a transformer)."""
    if not last:
        return "transform"
    if method is None:
        return "predict" if hasattr(est, "predict") else "transform"
    if method not in _METHODS:
        msg = f"method must be one of {list(_METHODS)}; got {method!r}."
        raise ValueError(msg)
    return method


def unsupported(est: Any, method: str, what: str) -> NotImplementedError:
    """The error for an estimator or method an exporter does not cover."""
    msg = (
        f"{what} has no {method!r} export for {type(est).__qualname__}. Covered estimators "
        "register a function with scaleml.export's registries (functools.singledispatch)."
    )
    return NotImplementedError(msg)
