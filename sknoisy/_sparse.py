"""Sparse input (SciPy CSR or CSC matrices and arrays, as ``TfidfVectorizer`` or
``HashingVectorizer`` give): the training rows stay sparse in host memory and are made
dense, and standardised, one batch of rows at a time.

A network sees the same rows as it would for the same data given dense: each batch is
``(x - mean) / scale`` with the statistics of the whole training matrix, computed from
its stored values alone. Only a batch (or a block of rows being scored) is ever dense.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["SparseRows", "canonical_csr", "sparse_feature_statistics"]


def canonical_csr(X):
    """``X`` as a float32 CSR matrix with sorted, unique indices per row; a copy only
    where the input is not already one (the user's matrix is never changed)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def sparse_feature_statistics(X):
    """Per-feature mean and scale of the rows of the CSR matrix ``X`` (implicit zeros
    included), as float64 arrays, for the same standardisation as dense input gets.

    O(nnz): each feature's squared deviations are those of its stored values plus
    ``mean ** 2`` for each of its zeros. A feature whose standard deviation is zero or
    not finite gets scale 1, as in scikit-learn's ``StandardScaler``.
    """
    n, d = X.shape
    values = X.data.astype(np.float64)
    columns = X.indices
    # (float64 even for a matrix without stored values, where bincount gives ints)
    mean = np.bincount(columns, weights=values, minlength=d).astype(np.float64) / n
    deviation = values - mean[columns]
    stored = np.bincount(columns, minlength=d)
    squares = np.bincount(columns, weights=np.square(deviation), minlength=d).astype(np.float64)
    squares += (n - stored) * np.square(mean)
    scale = np.sqrt(squares / n)
    scale[(scale == 0) | ~np.isfinite(scale)] = 1.0
    return mean, scale


class SparseRows:
    """Training rows held as a CSR matrix that index like a float32 tensor on
    ``device``: ``rows[key]`` (an int, a slice, or an index array or tensor of any
    shape) is those rows, dense and standardised with ``mean`` and ``scale`` when they
    are given.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of float32, shape (n_samples, n_features)
    mean, scale : ndarray of shape (n_features,) or None
    device : torch.device or str
    """

    ndim = 2
    dtype = torch.float32

    def __init__(self, matrix, mean=None, scale=None, device="cpu"):
        self.matrix = matrix
        self.mean = mean
        self.scale = scale
        self.device = torch.device(device)
        self.shape = tuple(matrix.shape)

    def __len__(self):
        return self.shape[0]

    def numel(self):
        """The number of values the rows have when dense."""
        return self.shape[0] * self.shape[1]

    def is_floating_point(self):
        return True

    def dense(self, rows):
        """Rows (an int array or a slice) as a dense, standardised float32 array."""
        block = self.matrix[rows].toarray()
        if self.mean is not None:
            # As standardize_rows does for dense rows: in float64, then to float32.
            block = ((block - self.mean) / self.scale).astype(np.float32)
        return block

    def __getitem__(self, key):
        if isinstance(key, slice):
            return torch.from_numpy(self.dense(key)).to(self.device)
        index = key.detach().cpu().numpy() if isinstance(key, torch.Tensor) else np.asarray(key)
        block = self.dense(index.reshape(-1)).reshape(*index.shape, self.shape[1])
        return torch.from_numpy(block).to(self.device)

    def split(self, size):
        """Consecutive dense blocks of at most ``size`` rows."""
        return (self[start : start + size] for start in range(0, len(self), size))

    def mean_row(self):
        """The mean of the (standardised) rows, as a float32 tensor of one row's shape."""
        mean = np.asarray(self.matrix.sum(axis=0, dtype=np.float64)).ravel() / len(self)
        if self.mean is not None:
            mean = (mean - self.mean) / self.scale
        return torch.as_tensor(mean, dtype=torch.float32, device=self.device)
