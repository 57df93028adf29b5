"""Pictures of a fitted estimator's view of its labels, in scikit-learn's Display API.

NoiseMatrixDisplay
    The noise matrix: for each (estimated) true class, the share of its rows under each
    given label.
LabelQualityDisplay
    The spread of label quality within each given class, with the cut-off below which
    rows are label issues.

Each is built with ``from_estimator(fitted_estimator)`` (or from arrays) and drawn with
``plot(ax=None)``, which sets ``figure_`` and ``ax_``, as scikit-learn's
``ConfusionMatrixDisplay``. matplotlib is optional: without it ``plot`` raises an
ImportError that says what to install.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .noise import transition_matrix
from .quality import _check_label_quality

__all__ = ["LabelQualityDisplay", "NoiseMatrixDisplay"]


def _import_pyplot(caller):
    """matplotlib's pyplot, or an ImportError that says what needs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"{caller} draws with matplotlib, which is not installed: pip install matplotlib"
        ) from error
    return plt


def _axes(ax, plt):
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax


def _issue_rows(estimator):
    """The fitted estimator's given and suggested labels per training row (class
    indices) and its classes."""
    check_is_fitted(estimator)
    rows = getattr(estimator, "_issue_rows", None)
    if rows is None:
        raise AttributeError(
            f"{type(estimator).__name__} does not score labels (it has no label issues to "
            "draw); use a sknoisy estimator"
        )
    return rows, estimator.classes_


class NoiseMatrixDisplay:
    """The noise matrix of given against true class: row ``i``, column ``j`` is the
    share of the rows of true class ``i`` whose given label is ``j`` (the convention of
    :mod:`sknoisy.noise`; rows sum to 1, and the diagonal is the share of right labels).

    Parameters
    ----------
    matrix : array-like of shape (n_classes, n_classes)
        Row-stochastic; rows are true classes, columns given labels.
    display_labels : array-like of shape (n_classes,), default=None
        Class names, in the order of the rows; by default ``0 .. n_classes - 1``.

    Attributes
    ----------
    im_ : matplotlib AxesImage
    text_ : ndarray of shape (n_classes, n_classes) of matplotlib Text
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    sknoisy.noise.transition_matrix : the realised matrix, from true and given labels.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import DualEMClassifier, make_label_noise
    >>> from sknoisy.display import NoiseMatrixDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "pairflip", 0.3, random_state=0)
    >>> clf = DualEMClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> NoiseMatrixDisplay.from_estimator(clf).matrix.shape
    (10, 10)
    """

    def __init__(self, matrix, *, display_labels=None):
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {matrix.shape}")
        if display_labels is not None and len(display_labels) != len(matrix):
            raise ValueError(
                f"display_labels has {len(display_labels)} names for {len(matrix)} classes"
            )
        self.matrix = matrix
        self.display_labels = display_labels

    @classmethod
    def from_estimator(cls, estimator, **plot_params):
        """The noise matrix a fitted sknoisy estimator implies, drawn.

        With a ``transition_matrix_`` (:class:`~sknoisy.LossCorrectionClassifier`), that
        matrix; otherwise the training rows counted by (suggested label, given label),
        each row normalised: the suggested label (``get_label_issues()``'s) stands for the
        true class.

        Parameters
        ----------
        estimator : fitted sknoisy estimator
        **plot_params
            Passed to :meth:`plot`.

        Returns
        -------
        display : NoiseMatrixDisplay
        """
        rows, classes = _issue_rows(estimator)
        matrix = getattr(estimator, "transition_matrix_", None)
        if matrix is None:
            indices = np.arange(len(classes))
            matrix = transition_matrix(rows["suggested"], rows["given"], classes=indices)
        return cls(matrix, display_labels=classes).plot(**plot_params)

    @classmethod
    def from_labels(cls, y_true, y_given, *, labels=None, **plot_params):
        """The realised noise matrix of known true labels and the given ones, drawn (on
        simulated noise, to compare with an estimator's).

        Parameters
        ----------
        y_true, y_given : array-like of shape (n_samples,)
        labels : array-like of shape (n_classes,), default=None
            The classes and their order; by default the sorted union of both.
        **plot_params
            Passed to :meth:`plot`.

        Returns
        -------
        display : NoiseMatrixDisplay
        """
        if labels is None:
            labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_given)]))
        matrix = transition_matrix(y_true, y_given, classes=labels)
        return cls(matrix, display_labels=labels).plot(**plot_params)

    def plot(self, *, ax=None, cmap="Blues", values_format=".2f", colorbar=True):
        """Draw the matrix as a heat map with its values.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure by default.
        cmap : str or matplotlib Colormap, default="Blues"
        values_format : str or None, default=".2f"
            Format of the values written in the cells; None writes none.
        colorbar : bool, default=True

        Returns
        -------
        self : NoiseMatrixDisplay
        """
        plt = _import_pyplot("NoiseMatrixDisplay.plot")
        fig, ax = _axes(ax, plt)
        n = len(self.matrix)
        names = np.arange(n) if self.display_labels is None else self.display_labels
        self.im_ = ax.imshow(self.matrix, cmap=cmap, vmin=0.0, vmax=1.0)
        self.text_ = np.empty((n, n), dtype=object)
        if values_format is not None:
            for i in range(n):
                for j in range(n):
                    value = self.matrix[i, j]
                    color = "white" if value > 0.5 else "black"
                    self.text_[i, j] = ax.text(
                        j, i, format(value, values_format), ha="center", va="center",
                        color=color,
                    )  # fmt: skip
        if colorbar:
            fig.colorbar(self.im_, ax=ax)
        ax.set(
            xticks=np.arange(n), yticks=np.arange(n), xticklabels=names, yticklabels=names,
            xlabel="given label", ylabel="true class",
        )  # fmt: skip
        self.ax_, self.figure_ = ax, fig
        return self


class LabelQualityDisplay:
    """Label quality by given class: each class's rows as points over a box of their
    label quality, the label issues in red, with the cut-off of the issues drawn across.

    Parameters
    ----------
    label_quality : array-like of shape (n_samples,)
        Per row, in ``[0, 1]``; higher = label more likely right.
    labels : array-like of shape (n_samples,)
        The given label of each row.
    label_issues : array-like of bool, shape (n_samples,), default=None
        The rows judged wrong; each class's count of them is shown and, where they are
        the lowest-quality rows (as ``label_issues_`` of a network estimator), the
        cut-off between them and the others.

    Attributes
    ----------
    classes_ : ndarray
        The classes, in the order of the boxes.
    threshold_ : float or None
        Halfway between the highest quality of an issue and the lowest of the other
        rows; None without ``label_issues``, when none or all are flagged, or when the
        issues are not the lowest-quality rows (a rule other than a cut-off chose
        them).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import DualEMClassifier, make_label_noise
    >>> from sknoisy.display import LabelQualityDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.3, random_state=0)
    >>> clf = DualEMClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> LabelQualityDisplay.from_estimator(clf).classes_.tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, label_quality, labels, *, label_issues=None):
        quality = _check_label_quality(label_quality)
        labels = np.asarray(labels)
        if labels.shape != quality.shape:
            raise ValueError(
                f"labels must have one entry per row of label_quality ({len(quality)}), "
                f"got shape {labels.shape}"
            )
        if label_issues is not None:
            label_issues = np.asarray(label_issues)
            if label_issues.dtype != bool or label_issues.shape != quality.shape:
                raise ValueError(
                    f"label_issues must be a boolean mask of shape {quality.shape}, got "
                    f"dtype {label_issues.dtype} and shape {label_issues.shape}"
                )
        self.label_quality = quality
        self.labels = labels
        self.label_issues = label_issues
        self.classes_ = np.unique(labels)
        self.threshold_ = None
        if label_issues is not None and label_issues.any() and not label_issues.all():
            highest_issue, lowest_other = quality[label_issues].max(), quality[~label_issues].min()
            if highest_issue <= lowest_other:
                self.threshold_ = float((highest_issue + lowest_other) / 2)

    @classmethod
    def from_estimator(cls, estimator, **plot_params):
        """A fitted sknoisy estimator's ``label_quality_`` by given class, with its
        ``label_issues_``, drawn.

        Parameters
        ----------
        estimator : fitted sknoisy estimator
        **plot_params
            Passed to :meth:`plot`.

        Returns
        -------
        display : LabelQualityDisplay
        """
        rows, classes = _issue_rows(estimator)
        display = cls(
            estimator.label_quality_, classes[rows["given"]],
            label_issues=np.asarray(estimator.label_issues_),
        )  # fmt: skip
        return display.plot(**plot_params)

    def plot(self, *, ax=None, max_points=300, random_state=0):
        """Draw each class's rows as points (jittered sideways, the label issues in red)
        over a box of their label quality, the cut-off as a dashed line, and under each
        class name its count of label issues.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure by default.
        max_points : int, default=300
            Points drawn per class at most (a random sample of its rows beyond that;
            the boxes and counts use every row).
        random_state : int, default=0
            Seeds the jitter and the sample.

        Returns
        -------
        self : LabelQualityDisplay
        """
        plt = _import_pyplot("LabelQualityDisplay.plot")
        fig, ax = _axes(ax, plt)
        rng = np.random.default_rng(random_state)
        issues = self.label_issues
        if issues is None:
            issues = np.zeros(len(self.labels), dtype=bool)
        positions = np.arange(1, len(self.classes_) + 1)
        groups = []
        for position, label in zip(positions, self.classes_, strict=True):
            rows = np.flatnonzero(self.labels == label)
            groups.append(self.label_quality[rows])
            if len(rows) > max_points:
                rows = rng.choice(rows, max_points, replace=False)
            x = position + rng.uniform(-0.25, 0.25, len(rows))
            color = np.where(issues[rows], "tab:red", "tab:gray")
            ax.scatter(x, self.label_quality[rows], s=6, c=color, alpha=0.5, linewidths=0)
        ax.boxplot(groups, positions=positions, widths=0.6, showfliers=False)
        names = [str(c) for c in self.classes_]
        if self.label_issues is not None:
            counts = [int(issues[self.labels == c].sum()) for c in self.classes_]
            names = [f"{name}\n{count} issues" for name, count in zip(names, counts, strict=True)]
        ax.set_xticks(positions, names)
        if self.threshold_ is not None:
            ax.axhline(self.threshold_, color="tab:red", linestyle="--", label="issue cut-off")
            ax.legend(loc="lower right")
        ax.set(xlabel="given label", ylabel="label quality", ylim=(-0.02, 1.02))
        self.ax_, self.figure_ = ax, fig
        return self
