"""Data: image sets that describe themselves (named, downloaded or local, and the user's own)."""

from idk.data.catalog import DataRecord, TrainingData, load, recorded_test_set, training_data
from idk.data.images import ImageSet, InputSpec, conform
from idk.data.named import NAMED, mnist, named_split, notmnist_459
from idk.data.sources import DataConfig

__all__ = [
    "NAMED",
    "DataConfig",
    "DataRecord",
    "ImageSet",
    "InputSpec",
    "TrainingData",
    "conform",
    "load",
    "mnist",
    "named_split",
    "notmnist_459",
    "recorded_test_set",
    "training_data",
]
