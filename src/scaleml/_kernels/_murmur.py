"""MurmurHash3 (x86, 32-bit) over Arrow string buffers, as scikit-learn hashes features.

:func:`murmur3_32_offsets` hashes every string of an Arrow (large) string or binary
array in one call, reading the array's offsets and data buffers directly: no Python
string is created. The result is the signed 32-bit hash ``sklearn.utils.murmurhash3_32
(s, seed, positive=False)`` gives for the UTF-8 bytes of each string: the algorithm is
fixed (Appleby's reference, little-endian blocks), so hashes are identical across runs,
machines and versions. :func:`murmur3_32_ref` is the pure-Python reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "hash_arrow",
    "murmur3_32_offsets",
    "murmur3_32_ref",
]

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_M32 = 0xFFFFFFFF


_U = np.uint64
_MASK = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _rotl32(x: np.uint64, r: int) -> np.uint64:
    return ((x << _U(r)) | (x >> _U(32 - r))) & _MASK


@njit(cache=True, nogil=True, inline="always")
def _mix_k(k: np.uint64) -> np.uint64:
    k = (k * _U(0xCC9E2D51)) & _MASK
    k = _rotl32(k, 15)
    return (k * _U(0x1B873593)) & _MASK


@njit(cache=True, nogil=True)
def _murmur3_32(data: np.ndarray, start: int, stop: int, seed: int) -> np.int64:
    # All arithmetic in uint64 masked to 32 bits: products of two 32-bit values fit.
    h = _U(seed) & _MASK
    length = stop - start
    nblocks = length // 4
    for b in range(nblocks):
        i = start + 4 * b
        k = (
            _U(data[i])
            | (_U(data[i + 1]) << _U(8))
            | (_U(data[i + 2]) << _U(16))
            | (_U(data[i + 3]) << _U(24))
        )
        h ^= _mix_k(k)
        h = _rotl32(h, 13)
        h = (h * _U(5) + _U(0xE6546B64)) & _MASK
    tail = start + 4 * nblocks
    rem = length & 3
    k = _U(0)
    if rem == 3:
        k ^= _U(data[tail + 2]) << _U(16)
    if rem >= 2:
        k ^= _U(data[tail + 1]) << _U(8)
    if rem >= 1:
        k ^= _U(data[tail])
        h ^= _mix_k(k)
    h ^= _U(length) & _MASK
    h ^= h >> _U(16)
    h = (h * _U(0x85EBCA6B)) & _MASK
    h ^= h >> _U(13)
    h = (h * _U(0xC2B2AE35)) & _MASK
    h ^= h >> _U(16)
    signed = np.int64(h)
    return signed - (1 << 32) if signed >= (1 << 31) else signed


@njit(cache=True, nogil=True)
def murmur3_32_offsets(offsets: np.ndarray, data: np.ndarray, seed: int = 0) -> np.ndarray:
    """Signed 32-bit MurmurHash3 of each ``data[offsets[i]:offsets[i + 1]]``.

    Parameters
    ----------
    offsets : int32 or int64 array of length ``n + 1`` (Arrow offsets, already sliced
        to the array's offset).
    data : uint8 array (the Arrow data buffer).
    seed : int

    Returns
    -------
    int32 array of length ``n``
    """
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.int32)
    for i in range(n):
        out[i] = _murmur3_32(data, int(offsets[i]), int(offsets[i + 1]), seed)
    return out


def murmur3_32_ref(key: bytes | str, seed: int = 0) -> int:
    """Pure-Python MurmurHash3 x86_32 (signed), the reference of the kernel.

    Examples
    --------
    >>> murmur3_32_ref("foo")
    -156908512
    """
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    h = seed & _M32
    n = len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _C1) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        k = (k * _C2) & _M32
        h ^= k
        h = ((h << 13) | (h >> 19)) & _M32
        h = (h * 5 + 0xE6546B64) & _M32
    tail = data[n - n % 4 :]
    k = 0
    for j in range(len(tail) - 1, -1, -1):
        k ^= tail[j] << (8 * j)
    if tail:
        k = (k * _C1) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        k = (k * _C2) & _M32
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h - (1 << 32) if h >= (1 << 31) else h


def hash_arrow(array: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Hashes of a pyarrow string/binary array (any offset width) and its validity.

    Returns
    -------
    hashes : int32 ndarray (0 where the value is null)
    valid : bool ndarray, or None when there is no null
    """
    import pyarrow as pa

    arr = array
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_string_view(arr.type) or pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.large_binary())
    width: Any
    if pa.types.is_string(arr.type) or pa.types.is_binary(arr.type):
        width = np.int32
    elif pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        width = np.int64
    else:
        msg = f"hash_arrow needs a string or binary array; got {arr.type}."
        raise TypeError(msg)
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset : arr.offset + n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    hashes = murmur3_32_offsets(offsets, data, seed)
    if arr.null_count == 0:
        return hashes, None
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    hashes[~valid] = 0
    return hashes, valid
