"""sknoisy: scikit-learn classifiers that learn from noisily-labelled data."""

__version__ = "0.1.0.dev0"
