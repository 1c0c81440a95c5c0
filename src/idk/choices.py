"""The names the command line offers, importable without torch (so ``idk --help`` and a mistyped
option answer at once): named data sets, presets, and their defaults, synthetic outlier families,
uncertainty scores.

:data:`idk.data.named.NAMED`, :data:`idk.training.config.PRESETS`, :data:`idk.decision.scores.SCORES`,
:data:`idk.nn.priors.PRIORS`, :data:`idk.nn.guides.GUIDES` and :data:`idk.training.batches.OUTLIER_FAMILIES` hold what the names
mean (the library checks its own calls against those, so an entry added there is taken);
they take their defaults from here, and ``tests/test_cli_light.py`` checks that the names agree.
"""

from __future__ import annotations

import re

DEFAULT_DATA = "mnist"  # what `idk train` trains on unless told
DATA_NAMES = ("mnist", "fashion-mnist", "notmnist-10k")  # the keys of idk.data.named.NAMED
DOWNLOAD_NAMES = ("mnist", "fashion-mnist", "notmnist-10k", "notmnist-459")  # idk.data.sources.DOWNLOADS
NOISE_NAMES = ("noise", "gaussian-noise", "noise-3x")  # idk.data.named.NOISE: made on the fly, never downloaded
OOD_NAMES = (*DOWNLOAD_NAMES, *NOISE_NAMES)  # idk.data.named.KNOWN
DEFAULT_PRESET = "cnn"
SCHEDULES = ("constant", "cosine")  # idk.training.config.TrainConfig.schedule's learning-rate schedules
PRIOR_NAMES = ("normal", "laplace")  # the keys of idk.nn.priors.PRIORS
ARCH_NAMES = ("mlp", "cnn")  # the keys of idk.nn.networks.ARCHITECTURES
GUIDE_NAMES = ("mean-field-normal",)  # the keys of idk.nn.guides.GUIDES
PRESET_NAMES = ("tutorial", "cnn", "cnn-full", "vgg", "cnn-fonts")  # the keys of idk.training.config.PRESETS
# idk.training.batches.OUTLIER_FAMILIES: the synthetic outlier families training may leave out
OUTLIER_FAMILIES = (
    "uniform-noise",
    "gaussian-noise",
    "shuffled-patches",
    "zoomed",
    "mirrored",
    "turned",
    "paired",
    "inverted",
    "strokes",
    "blobs",
    "glyphs",
    "shrunk-noise",
)
# idk.decision.scores.SCORES: the uncertainty scores a rule may use ("auto": chosen on validation data)
AUTO_SCORE = "auto"  # a rule's score chosen on validation data among the candidates (idk.decision.scores)
SCORE_NAMES = ("max-prob", "entropy", "expected-entropy", "mutual-info", "entropy-or-mutual-info", "percentile")


def column_key(name: str) -> str:
    """A CSV table's column name as ``--columns`` and the usual names are matched to it: letter
    case, spaces and hyphens aside (``Image ID`` is ``image_id``; :mod:`idk.data.manifests`)."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())
