"""idk: Bayesian neural-network classifiers that say "I don't know"."""

__version__ = "0.1.0"
