"""idk: Bayesian neural-network classifiers that say "I don't know".

The library's main calls are reachable from here, each imported when first used (``import idk``
itself stays light: the command line parses its arguments without loading torch)::

    import idk

    idk.train("mine.pt", opts=idk.TrainOptions(data="my_photos/", epochs=12))
    model, ckpt = idk.load("mine.pt")
    for result in idk.predict_images(model, ckpt, [("photo.jpg", "photo.jpg")]):
        print(result.error or result.verdict)

Their homes, where their docstrings are: :data:`API`.
"""

import importlib as _importlib

__version__ = "0.1.0"

API = {  # each name the package offers, and the module it lives in
    "train": "idk.training.train",
    "TrainOptions": "idk.training.options",
    "recalibrate": "idk.training.recalibration",
    "load": "idk.training.checkpoint",
    "Checkpoint": "idk.training.checkpoint",
    "predict_images": "idk.apps.predict",
    "predict": "idk.decision.predictive",
    "evaluate_checkpoint": "idk.apps.evaluate",
    "explain": "idk.apps.explain",
    "DataConfig": "idk.data.sources",
    "Progress": "idk.progress",
    "IdkError": "idk.errors",
}
__all__ = ["__version__", *API]


def __getattr__(name: str) -> object:
    if name not in API:
        raise AttributeError(f"module 'idk' has no attribute {name!r}; it offers {', '.join(API)}")
    value = getattr(_importlib.import_module(API[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted({*(n for n in globals() if not n.startswith("_")), "__version__", *API})
