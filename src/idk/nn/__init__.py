"""Bayesian network building blocks: priors, layers, networks, guides, likelihoods, the model."""

import pyro

# Parameters live in their modules (optimised with torch optimisers), not in Pyro's global store.
pyro.settings.set(module_local_params=True)
