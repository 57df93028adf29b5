"""Sparse input (SciPy CSR or CSC matrices and arrays, as ``TfidfVectorizer`` or
``HashingVectorizer`` give): the training rows stay sparse in host memory.

With up to ``SPARSE_FIRST_LAYER_MIN_FEATURES`` features (or a network of the user's),
batches are made dense and standardised one at a time, so the network sees the same
rows as it would for the same data given dense: each batch is ``(x - mean) / scale``
with the statistics of the whole training matrix, computed from its stored values
alone. Only a batch (or a block of rows being scored) is ever dense.

From that many features on, the default network's first layer takes the rows sparse
(:class:`SparseBatch`): nothing of size batch x n_features is made. They are
standardised all the same: the first layer multiplies the sparse rows divided by
``scale`` by its weights, and subtracts the product of ``mean / scale`` with them, which
is its output on the dense, centred rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

__all__ = [
    "SPARSE_FIRST_LAYER_MIN_FEATURES",
    "SparseBatch",
    "SparseRows",
    "canonical_csr",
    "sparse_feature_statistics",
]

#: From this many features on, sparse rows reach the default network's first layer as
#: they are (:class:`SparseBatch`): a dense batch of them would cost more memory and
#: time than the network itself.
SPARSE_FIRST_LAYER_MIN_FEATURES = 2**14


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
    are given; with ``sparse_batches``, a :class:`SparseBatch` of them, which stands
    for the same standardised rows.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of float32, shape (n_samples, n_features)
    mean, scale : ndarray of shape (n_features,) or None
    device : torch.device or str
    sparse_batches : bool, default=False
    """

    ndim = 2
    dtype = torch.float32

    def __init__(self, matrix, mean=None, scale=None, device="cpu", sparse_batches=False):
        self.matrix = matrix
        self.mean = mean
        self.scale = scale
        self.device = torch.device(device)
        self.shape = tuple(matrix.shape)
        self.sparse_batches = sparse_batches
        self._inverse_scale = None if scale is None else (1.0 / scale).astype(np.float32)
        # What a sparse batch's first layer subtracts: the mean row, standardised.
        self._offset = None
        if sparse_batches and mean is not None:
            offset = mean / (1.0 if scale is None else scale)
            self._offset = torch.as_tensor(offset, dtype=torch.float32, device=self.device)

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

    def sparse(self, rows):
        """Rows (an int array or a slice) as a float32 torch CSR tensor on the device,
        divided by ``scale`` when it is given."""
        block = self.matrix[rows]
        values = block.data
        if self._inverse_scale is not None:
            values = values * self._inverse_scale[block.indices]
        return _csr_tensor(
            torch.from_numpy(block.indptr.astype(np.int64)),
            torch.from_numpy(block.indices.astype(np.int64)),
            torch.from_numpy(np.asarray(values, dtype=np.float32)),
            block.shape,
        ).to(self.device)

    def __getitem__(self, key):
        if self.sparse_batches:
            if isinstance(key, slice):
                return SparseBatch.of_rows(self.sparse(key), self._offset)
            index = _as_index(key)
            batch = SparseBatch.of_rows(self.sparse(index.reshape(-1)), self._offset)
            return batch[torch.arange(index.size, device=self.device).reshape(index.shape)]
        if isinstance(key, slice):
            return torch.from_numpy(self.dense(key)).to(self.device)
        index = _as_index(key)
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
        elif self.scale is not None:
            mean = mean / self.scale
        return torch.as_tensor(mean, dtype=torch.float32, device=self.device)


def _as_index(key):
    """An index array or tensor as a NumPy array."""
    return key.detach().cpu().numpy() if isinstance(key, torch.Tensor) else np.asarray(key)


def _csr_tensor(crow, col, values, shape):
    """A torch CSR tensor, without torch's notices that CSR is in beta and that its
    invariants go unchecked (the indices come from a canonical SciPy CSR matrix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def _stack_rows(first, second):
    """Two torch CSR tensors of as many columns, one above the other."""
    if first is second:
        return first
    crow = torch.cat([first.crow_indices(), second.crow_indices()[1:] + first.values().numel()])
    return _csr_tensor(
        crow,
        torch.cat([first.col_indices(), second.col_indices()]),
        torch.cat([first.values(), second.values()]),
        (first.shape[0] + second.shape[0], first.shape[1]),
    )


class SparseBatch:
    """A batch of sparse rows that methods mix, select and perturb as they would a dense
    batch, and that a first layer (:class:`~sknoisy.modules.SparseLinear`) takes without
    ever making it dense.

    Each row of the batch is a weighted sum of sparse rows, less as much of ``offset``:
    row ``i`` is ``sum_j weights[i, j] * (rows[members[i, j]] - offset)``, for the
    standardised rows ``(x - mean) / scale`` with ``rows`` holding ``x / scale`` and
    ``offset`` being ``mean / scale``. A batch of training rows has one
    member of weight 1 per row; mixup (``lam * X + (1 - lam) * X[perm]``), neighbour
    mixing (a weighted sum over a row's neighbours) and a choice between two views
    (``torch.where``) give rows of several members. These are exact: the first layer is
    linear, so it computes each distinct sparse row's product with its weights once and
    sums the products with the members' weights, which is its output on the mixed rows.

    The batch has the shape of the dense rows it stands for, ``weights.shape[:-1] +
    (n_features,)``; indexing, products with numbers or with tensors that are constant
    along the features, sums with other batches, ``sum`` over a leading dimension,
    ``torch.cat`` along one and ``torch.where`` with a row-wise condition are supported.

    Parameters
    ----------
    rows : torch.Tensor, sparse CSR of shape (n_rows, n_features)
    weights : torch.Tensor of shape (..., n_members)
    members : torch.Tensor of int64, the shape of ``weights``
        Indices into ``rows``.
    offset : torch.Tensor of shape (n_features,) or None
        Subtracted from every row; None is zeros.
    """

    dtype = torch.float32

    def __init__(self, rows, weights, members, offset=None):
        self.rows = rows
        self.weights = weights
        self.members = members
        self.offset = offset

    @classmethod
    def of_rows(cls, rows, offset=None):
        """The batch of the rows themselves, one member each."""
        n = rows.shape[0]
        members = torch.arange(n, device=rows.device)[:, None]
        return cls(rows, torch.ones((n, 1), device=rows.device), members, offset)

    def _like(self, rows, weights, members):
        return SparseBatch(rows, weights, members, self.offset)

    @property
    def shape(self):
        return torch.Size((*self.weights.shape[:-1], self.rows.shape[1]))

    @property
    def device(self):
        return self.weights.device

    def dim(self):
        return len(self.shape)

    def __len__(self):
        return self.shape[0]

    def to(self, device):
        offset = None if self.offset is None else self.offset.to(device)
        return SparseBatch(
            self.rows.to(device), self.weights.to(device), self.members.to(device), offset
        )

    def _leading(self, dim):
        """``dim`` as a non-negative index of a leading dimension (not the features)."""
        if dim < 0:
            dim += self.dim()
        if not 0 <= dim < self.dim() - 1:
            raise IndexError(f"sparse rows combine along their leading dimensions, not {dim}")
        return dim

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        consumed = sum(k is not None for k in key)
        if consumed >= self.dim() or any(k is Ellipsis for k in key):
            raise IndexError("sparse rows are indexed along their leading dimensions only")
        return self._like(self.rows, self.weights[key], self.members[key])

    def _scaled(self, factor):
        if isinstance(factor, torch.Tensor) and factor.dim() > 0:
            if factor.shape[-1] != 1:
                raise TypeError("sparse rows are multiplied by one factor per row, not feature")
        elif not isinstance(factor, (int, float, torch.Tensor)):
            return NotImplemented
        weights = self.weights * factor
        return self._like(self.rows, weights, self.members.expand(weights.shape))

    __mul__ = __rmul__ = _scaled

    def _on_rows_of(self, other):
        """``(rows, self's members, other's members)``: the two batches' members as
        indices into one stack of both batches' rows."""
        if other.offset is not self.offset:
            raise ValueError("only rows of the same training data combine")
        rows = _stack_rows(self.rows, other.rows)
        offset = 0 if rows is self.rows else self.rows.shape[0]
        return rows, self.members, other.members + offset

    def __add__(self, other):
        if not isinstance(other, SparseBatch):
            return NotImplemented
        rows, members, other_members = self._on_rows_of(other)
        lead = torch.broadcast_shapes(self.shape[:-1], other.shape[:-1])

        first = (*lead, members.shape[-1])
        second = (*lead, other_members.shape[-1])
        weights = [self.weights.expand(first), other.weights.expand(second)]
        return self._like(
            rows,
            torch.cat(weights, -1),
            torch.cat([members.expand(first), other_members.expand(second)], -1),
        )

    def sum(self, dim):
        """The rows summed along the leading dimension ``dim``."""
        dim = self._leading(dim)
        weights = self.weights.movedim(dim, -2).flatten(-2)
        members = self.members.expand(self.weights.shape).movedim(dim, -2).flatten(-2)
        return self._like(self.rows, weights, members)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.cat:
            return cls._cat(*args, **kwargs)
        if func is torch.where and len(args) == 3:
            condition, first, second = args
            chosen = condition.to(torch.float32)
            return first * chosen + second * (1 - chosen)
        return NotImplemented

    @staticmethod
    def _cat(batches, dim=0):
        """``torch.cat`` along a leading dimension: the batches' members are padded
        with members of weight 0 to as many per row."""
        result, *others = batches
        dim = result._leading(dim)
        for other in others:
            rows, members, other_members = result._on_rows_of(other)
            width = max(members.shape[-1], other_members.shape[-1])
            weights, members = _padded(result.weights, members, width)
            other_weights, other_members = _padded(other.weights, other_members, width)
            result = result._like(
                rows,
                torch.cat([weights, other_weights], dim),
                torch.cat([members, other_members], dim),
            )
        return result

    def linear(self, weight, bias=None):
        """``row @ weight + bias`` for each row of the batch, for ``weight`` of shape
        ``(n_features, width)``: a first layer's output."""
        # In float32 under mixed precision too: sparse products have no 16-bit kernels.
        with torch.autocast(self.device.type, enabled=False):
            products, centre = _SparseProduct.apply(self.rows, weight.float(), self.offset)
        out = (self.weights.unsqueeze(-1) * products[self.members]).sum(dim=-2)
        if self.offset is not None:
            out = out - self.weights.sum(dim=-1, keepdim=True) * centre
        return out if bias is None else out + bias

    def augmented(self, noise=0.0, mask=0.0):
        """A random view of a batch of sparse rows (one member each): every stored value
        is multiplied by ``exp(noise * N(0, 1))``, which keeps its sign and leaves each
        zero a zero, and is dropped (set to zero) with probability ``mask``."""
        if not (noise or mask):
            return self
        if self.weights.shape[-1] != 1:
            raise ValueError("only rows that are not yet mixed can be augmented")
        values = self.rows.values()
        if noise:
            values = values * torch.exp(noise * torch.randn_like(values))
        if mask:
            values = values * (torch.rand_like(values) >= mask)
        rows = _csr_tensor(
            self.rows.crow_indices(), self.rows.col_indices(), values, self.rows.shape
        )
        return self._like(rows, self.weights, self.members)


class _SparseProduct(torch.autograd.Function):
    """``(rows @ weight, offset @ weight)`` for sparse CSR ``rows``, a dense ``weight``
    and a dense ``offset`` (or None: the second is zeros), whose gradient for
    ``weight`` is made in place in one new tensor of its size: each stored value's row
    of the output gradient added to the weight row of its feature, and the offset's
    outer product with its output's gradient. (torch's own gradients of these products
    make temporaries of the weight's size.)"""

    @staticmethod
    def forward(ctx, rows, weight, offset):
        ctx.save_for_backward(rows, offset)
        ctx.weight_shape = weight.shape
        centre = weight.new_zeros(weight.shape[1]) if offset is None else offset @ weight
        return torch.sparse.mm(rows, weight), centre

    @staticmethod
    def backward(ctx, grad_output, grad_centre):
        rows, offset = ctx.saved_tensors
        crow = rows.crow_indices()
        row_of_value = torch.repeat_interleave(
            torch.arange(rows.shape[0], device=crow.device), crow.diff()
        )
        contributions = rows.values()[:, None] * grad_output[row_of_value]
        grad = grad_output.new_zeros(ctx.weight_shape)
        grad.index_add_(0, rows.col_indices(), contributions)
        if offset is not None and grad_centre is not None:
            grad.addr_(offset, grad_centre)
        return None, grad, None


def _padded(weights, members, width):
    """Weights and members with members of weight 0 added up to ``width``."""
    extra = width - weights.shape[-1]
    if extra == 0:
        return weights, members
    pad = (*weights.shape[:-1], extra)
    return (
        torch.cat([weights, weights.new_zeros(pad)], -1),
        torch.cat([members, members.new_zeros(pad)], -1),
    )
