"""Out-of-core naive Bayes classifiers, fitted exactly in one pass."""

from scaleml.naive_bayes._discrete import BernoulliNB, MultinomialNB
from scaleml.naive_bayes._gaussian import GaussianNB

__all__ = ["BernoulliNB", "GaussianNB", "MultinomialNB"]
