"""Data: MNIST and notMNIST (downloaded or local), noise, and any images a user has."""

from idk.data.sources import DataConfig, ImageSet, from_path, load, mnist, notmnist_10k, notmnist_459

__all__ = ["DataConfig", "ImageSet", "from_path", "load", "mnist", "notmnist_10k", "notmnist_459"]
