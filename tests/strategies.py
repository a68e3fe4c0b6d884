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
