"""The table of label issues: ``get_label_issues()``, shared by every estimator.

Each estimator records, once fitted, its training rows' given labels, its predictions
for them and its suggested labels (as class indices), and the index of ``X`` when it was
a pandas DataFrame (:meth:`LabelIssuesMixin._record_label_issue_rows`); the table is put
together from them and ``label_quality_`` / ``label_issues_`` when it is asked for.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

ISSUE_COLUMNS = (
    "given_label", "predicted_label", "suggested_label", "label_quality", "is_label_issue",
)  # fmt: skip


def import_pandas(caller):
    """pandas, or an ImportError that says what needs it and how to install it."""
    try:
        import pandas
    except ImportError as error:
        raise ImportError(
            f"{caller} returns a pandas DataFrame and needs pandas, which is not "
            "installed: pip install pandas"
        ) from error
    return pandas


def row_index(X):
    """The index of ``X`` if it is a pandas DataFrame, else None."""
    if type(X).__module__.startswith("pandas") and hasattr(X, "columns"):
        return X.index
    return None


class LabelIssuesMixin:
    """``get_label_issues()`` for an estimator that calls
    :meth:`_record_label_issue_rows` in ``fit`` and sets ``classes_``,
    ``label_quality_`` and ``label_issues_``."""

    def _forget_fit(self):
        """Delete the fitted state, so that a failed refit leaves no part of the
        previous fit behind."""
        for attribute in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attribute)
        vars(self).pop("_issue_rows", None)

    def _record_label_issue_rows(self, given, predicted, suggested=None, index=None):
        """Keep what the issue table needs beyond the fitted attributes: per training
        row, the given label, the prediction and the suggested label (each an index
        into ``classes_``; the suggestion defaults to the prediction), and the index of
        ``X`` (None unless it was a DataFrame)."""
        self._issue_rows = {
            "given": np.asarray(given, dtype=np.intp),
            "predicted": np.asarray(predicted, dtype=np.intp),
            "suggested": np.asarray(predicted if suggested is None else suggested, np.intp),
            "index": index,
        }

    def get_label_issues(self, sort=False):
        """The training rows with their given, predicted and suggested labels, label
        quality and whether the label is an issue: a table to review the labels by.

        Parameters
        ----------
        sort : bool, default=False
            Order the rows by ``label_quality``, lowest (most likely wrong) first; ties
            keep the rows' order. By default the rows are in the order of ``X``.

        Returns
        -------
        issues : pandas.DataFrame of shape (n_samples, 5)
            One row per training row, with the index of ``X`` where ``fit`` was given a
            DataFrame (else 0 to ``n_samples - 1``; inside a Pipeline, in the order of
            ``X``). Columns:

            - ``given_label``: the label given to ``fit``;
            - ``predicted_label``: the fitted model's prediction for the row
              (:class:`~sknoisy.FilterClassifier`'s: the cross-validated one its
              labels were scored by, or its sknoisy detector's);
            - ``suggested_label``: the method's corrected label where it has one
              (``corrected_labels_``), else the prediction; the given label for a row
              passed as ``trusted``;
            - ``label_quality``: ``label_quality_``;
            - ``is_label_issue``: ``label_issues_``.

        Raises
        ------
        ImportError
            Without pandas.
        AttributeError
            For an :class:`~sknoisy.AutoClassifier` whose chosen estimator does not
            score labels.
        """
        check_is_fitted(self)
        if not hasattr(self, "_issue_rows"):
            raise AttributeError(
                f"this {type(self).__name__} has no label issues: its chosen estimator "
                f"({type(getattr(self, 'best_estimator_', None)).__name__}) does not score "
                "labels"
            )
        pandas = import_pandas("get_label_issues()")
        rows = self._issue_rows
        table = pandas.DataFrame(
            {
                "given_label": self.classes_[rows["given"]],
                "predicted_label": self.classes_[rows["predicted"]],
                "suggested_label": self.classes_[rows["suggested"]],
                "label_quality": self.label_quality_,
                "is_label_issue": self.label_issues_,
            },
            index=rows["index"],
        )
        if sort:
            table = table.sort_values("label_quality", kind="stable")
        return table
