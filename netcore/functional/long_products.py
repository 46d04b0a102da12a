"""Products with few rows and many columns, done as OpenBLAS's small products over column chunks.

``long_product``: a @ b.T for few rows and a long contraction, as a sum of products over
column chunks. ``wide_product``: a @ b for few rows and a short contraction, one small product
per column chunk (the first convolution's forward, F x C*kh*kw times the patches).

A convolution's weight gradient is dL/dW = dz P^T with dz (F, L) and the patches P (K, L),
L = N * frame columns. For the first convolution of an image network F and K are small
(16 filters, 25 = 1x5x5 patch rows) and L is long (64 images x 840 = 53,760). OpenBLAS's
general sgemm kernel runs such a product slowly, while its small-matrix kernel (SkylakeX
builds; measured to apply up to M*N*K of about 10^6: 16x25x1,680 fast, 16x25x3,360 not) does a
slice of the columns quickly. Measured on a 2-core AMD EPYC,
16x25x53,760: one product 1.5-1.7 ms with the SkylakeX kernel, the sum of 32 products of 1,680
columns 0.6 ms; with the Haswell kernel (no small-matrix path) 0.89 and 0.89 ms. Products
with more rows (kernel rows' 160x80, or 64x25) gain nothing and are left whole. The same holds
for a wide product: the MNIST CNN's first forward, 16x25 by 25x28,672 (32 images on 28x32
frames), one product 665 us, one batched call of 16 products of 1,792 columns 290 us (same
machine, SkylakeX kernel, one thread).
"""

from __future__ import annotations

import numpy as np

SMALL_PRODUCT = 1_000_000  # M*N*K up to which OpenBLAS (SkylakeX) takes its small-matrix kernel


def chunk_columns(rows: int, cols: int, length: int, unit: int) -> int:
    """Columns per chunk: the most whole ``unit``s (a sample's frame) keeping each product
    small; 0 when chunking does not apply (not even one unit fits, or fewer than 2 chunks)."""
    per = (SMALL_PRODUCT // max(1, rows * cols)) // unit * unit
    return per if per and length >= 2 * per else 0


def long_product(a: np.ndarray, b: np.ndarray, unit: int, out: np.ndarray) -> np.ndarray:
    """out = a @ b.T, summed over chunks of whole ``unit``s of columns when that is faster.

    Shapes: a (M, L), b (K, L), both with unit-stride rows -> out (M, K).
    """
    m, length = a.shape
    k = b.shape[0]
    per = chunk_columns(m, k, length, unit)
    if not per:
        return np.matmul(a, b.T, out=out)
    count = length // per
    whole = count * per
    # (count, M, per) @ (count, per, K): one small product per chunk, then their sum
    parts = np.matmul(
        a[:, :whole].reshape(m, count, per).transpose(1, 0, 2),
        b[:, :whole].reshape(k, count, per).transpose(1, 2, 0),
    )
    np.sum(parts, axis=0, out=out)
    if whole < length:
        out += a[:, whole:] @ b[:, whole:].T
    return out


def wide_product(a: np.ndarray, b: np.ndarray, unit: int, out: np.ndarray) -> np.ndarray:
    """out = a @ b, as one small product per chunk of whole ``unit``s of columns when that is faster
    (one batched NumPy call), the remaining columns in one more.

    Shapes: a (M, K), b (K, L) and out (M, L), b and out with unit-stride rows.
    """
    m, k = a.shape
    length = b.shape[1]
    per = chunk_columns(m, k, length, unit)
    if not per:
        return np.matmul(a, b, out=out)
    count = length // per
    whole = count * per
    # splitting the column axis in (count, per) is always a view, so the products land in out
    chunks = out[:, :whole].reshape(m, count, per).transpose(1, 0, 2)
    np.matmul(a, b[:, :whole].reshape(k, count, per).transpose(1, 0, 2), out=chunks)
    if whole < length:
        np.matmul(a, b[:, whole:], out=out[:, whole:])
    return out
