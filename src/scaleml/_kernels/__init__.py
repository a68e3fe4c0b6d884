"""numba kernels (``@njit(cache=True, nogil=True)``), each with a pure-numpy reference."""

__all__: list[str] = []
