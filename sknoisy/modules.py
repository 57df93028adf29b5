"""Default network and access to the penultimate representation."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._sparse import SparseBatch

__all__ = ["MLP", "SparseLinear", "forward_with_representation", "reset_parameters"]


class _RowFlatten(nn.Flatten):
    """``nn.Flatten`` that passes sparse rows (:class:`~sknoisy._sparse.SparseBatch`) on
    as they are: they are flat already."""

    def forward(self, X):
        return X if isinstance(X, SparseBatch) else super().forward(X)


class SparseLinear(nn.Module):
    """A linear layer for sparse rows (:class:`~sknoisy._sparse.SparseBatch`), dense
    ones too: ``X @ weight + bias``.

    Its weight is stored ``(in_features, out_features)``, the transpose of
    ``nn.Linear``'s, so that the product with sparse rows reads and its gradient writes
    one contiguous row per stored feature: its cost follows the rows' stored values, not
    ``batch x in_features``. Initialised with the values ``nn.Linear`` draws.

    Parameters
    ----------
    in_features : int
        Width of the rows.
    out_features : int
        Width of the output.

    Examples
    --------
    >>> import torch
    >>> layer = SparseLinear(4, 2)
    >>> rows = torch.eye(4)[:3]
    >>> torch.allclose(layer(rows), rows @ layer.weight + layer.bias)
    True
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self):
        # nn.Linear's own draws, in its layout, transposed: the same seed gives the same
        # network as a first nn.Linear would (at the cost of one copy, at the start).
        with torch.no_grad():
            linear_layout = torch.empty(self.out_features, self.in_features)
            nn.init.kaiming_uniform_(linear_layout, a=math.sqrt(5))
            self.weight.copy_(linear_layout.t())
            del linear_layout
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, X):
        if isinstance(X, SparseBatch):
            return X.linear(self.weight, self.bias)
        return X @ self.weight + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class MLP(nn.Module):
    """Multi-layer perceptron used when no ``module`` is given.

    Inputs of any shape ``(N, ...)`` are flattened per row, so the same network takes
    tabular rows and small images alike.

    Parameters
    ----------
    n_features : int
        Number of input features (product of the per-row input shape).
    n_classes : int
        Width of the output layer.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Width of each hidden layer; ``()`` gives a linear model.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    sparse_input : bool, default=False
        Whether the first layer is a :class:`SparseLinear`, for sparse rows; needs a
        hidden layer.

    Attributes
    ----------
    features : torch.nn.Sequential
        Everything up to the penultimate representation; methods that need the
        representation (e.g. neighbour search) call ``module.features(X)``.
    classifier : torch.nn.Linear
        The output layer, producing one logit per class.

    Examples
    --------
    >>> import torch
    >>> net = MLP(n_features=4, n_classes=3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self, n_features, n_classes, hidden_layer_sizes=(256, 256), dropout=0.0,
        sparse_input=False,
    ):  # fmt: skip
        super().__init__()
        if sparse_input and not hidden_layer_sizes:
            raise ValueError("sparse_input needs a hidden layer")
        layers = []
        width = n_features
        for size in hidden_layer_sizes:
            # Sparse rows reach the first layer; the others see its dense output.
            linear = SparseLinear if sparse_input and not layers else nn.Linear
            layers += [linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.features = nn.Sequential(_RowFlatten(), *layers)
        self.classifier = nn.Linear(width, n_classes)

    def forward(self, X):
        return self.classifier(self.features(X))


def reset_parameters(module):
    """Re-initialise every sub-module of ``module`` that knows how to, in place.

    Used to give a user's module instance fresh weights drawn from the estimator's
    ``random_state`` (and different weights for a second network).

    Parameters
    ----------
    module : torch.nn.Module
        The module to re-initialise.

    Returns
    -------
    module : torch.nn.Module
        The same module.

    Raises
    ------
    ValueError
        If some parameter is reached by no ``reset_parameters`` (of its module or of a
        module above it): it would keep its value, and two networks built from the same
        instance would share it.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(2, 2)
    >>> _ = torch.nn.init.zeros_(lin.weight)
    >>> bool(reset_parameters(lin).weight.abs().sum() > 0)
    True
    """
    reset_method = {}
    for name, sub in module.named_modules():
        # torch.nn.MultiheadAttention names its method _reset_parameters.
        method = getattr(sub, "reset_parameters", None) or getattr(sub, "_reset_parameters", None)
        if callable(method):
            reset_method[name] = method
    # Children first, so that a parent's own initialisation has the last word.
    for name in sorted(reset_method, key=lambda n: -(n.count(".") + 1 if n else 0)):
        reset_method[name]()

    def covered(param_name):
        owner = param_name.rpartition(".")[0]
        parts = owner.split(".") if owner else []
        return any(".".join(parts[:i]) in reset_method for i in range(len(parts) + 1))

    stuck = [p for p, _ in module.named_parameters() if not covered(p)]
    if stuck:
        raise ValueError(
            "the module instance has parameters that cannot be re-initialised "
            f"({', '.join(stuck)}: no module above them has a reset_parameters method); "
            "pass the module class (with module_params) instead, or give that module a "
            "reset_parameters method"
        )
    return module


def forward_with_representation(module, X):
    """Logits and penultimate representation of a batch, from one forward pass.

    Methods that work in representation space (e.g. neighbour search) need the input of
    the output layer. The module provides it by having two callable attributes:
    ``features`` (input -> representation) and ``classifier`` (representation ->
    logits), so that ``module(X) == module.classifier(module.features(X))``, as
    :class:`MLP` does.

    Parameters
    ----------
    module : torch.nn.Module
    X : torch.Tensor

    Returns
    -------
    logits : torch.Tensor of shape (n, n_classes)
    representation : torch.Tensor of shape (n, d)
        Flattened per row.

    Raises
    ------
    ValueError
        If the module has no ``features`` and ``classifier``.

    Examples
    --------
    >>> import torch
    >>> net = MLP(n_features=4, n_classes=3, hidden_layer_sizes=(8,))
    >>> logits, z = forward_with_representation(net, torch.zeros(5, 4))
    >>> logits.shape, z.shape
    (torch.Size([5, 3]), torch.Size([5, 8]))
    """
    features = getattr(module, "features", None)
    classifier = getattr(module, "classifier", None)
    if not (callable(features) and callable(classifier)):
        raise ValueError(
            f"this method needs the network's penultimate representation, but the module "
            f"{type(module).__name__} has no callable 'features' and 'classifier' "
            "attributes; give it both, with module(X) == module.classifier(module.features(X))"
        )
    representation = features(X)
    # float32 under mixed precision too, as the module's own output (NoisyLabelNet).
    return classifier(representation).float(), representation.flatten(1).float()
