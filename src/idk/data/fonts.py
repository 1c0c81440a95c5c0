"""Font files beyond the ones matplotlib ships, as paths: a path stands wherever a font name of
:data:`idk.data.glyphs.FONT_FILES` does (:func:`idk.data.glyphs.render`, ``has_glyph``).

* ``pymupdf-fonts`` (PyPI, SIL Open Font License 1.1) carries 26 text cuts of seven families as
  compressed Python strings; :func:`packaged_fonts` writes the cuts asked for into the cache once,
  as TrueType files. Split by family, never within one: :data:`PACKAGED_VALIDATION` (Fira, Ubuntu)
  is what choices about printed digits are made on (``scripts/drawn_by_style.py --fonts
  validation``); :data:`PACKAGED_TRAINING` (Noto Sans, Cascadia Mono, Space Mono) is what training
  may print class names in: Noto Sans' four cuts by default (:func:`idk.data.glyphs.training_fonts`,
  adopted 2026-12-06), further cuts in a variant (``scripts/training_fonts.py``).
* :data:`HELD_OUT_FONT_PACKAGES` (requirements-dev.txt: measuring only) are fonts no set, training
  run or choice has used: they measure how the printed figures carry to fonts nothing was tuned on
  (``scripts/drawn_by_style.py --fonts``).
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from idk.cache import default_cache_dir
from idk.data.download import move_into_place

# pymupdf-fonts' keys, by family. The proportional cuts' 1s (FiraGO, Ubuntu, Noto Sans) have a flag and
# no foot, as Roboto's do; the monospaced cuts' 1s have a foot (tests/test_fonts.py measures both).
PACKAGED_VALIDATION = (
    *("figo", "figbo", "figit", "figbi", "fimo", "fimbo"),  # FiraGO, Fira Mono
    *("ubuntu", "ubuntubo", "ubuntuit", "ubuntubi", "ubuntm", "ubuntmbo", "ubuntmit", "ubuntmbi"),  # Ubuntu (Mono)
)
PACKAGED_TRAINING = (
    *("notos", "notosbo", "notosit", "notosbi"),  # Noto Sans
    *("cascadia", "cascadiab", "cascadiai", "cascadiabi"),  # Cascadia Mono
    *("spacemo", "spacembo", "spacemit", "spacembi"),  # Space Mono
)
_STYLES = ("Bold Italic", "Italic", "Bold", "Regular")  # the cut's name ends with one of these

# Font packages (PyPI, SIL Open Font License or Apache 2.0) whose fonts no set, training run or
# choice has used. Amatic SC is drawn by hand, Intuitive casual; the others are text faces (sans,
# serif, rounded) in several weights.
HELD_OUT_FONT_PACKAGES = (
    "font_amatic_sc",
    "font_caladea",
    "font_fredoka_one",
    "font_hanken_grotesk",
    "font_intuitive",
    "font_manrope",
    "font_roboto",
    "font_source_sans_pro",
    "font_source_serif_pro",
)


def file_name(full_name: str) -> str:
    """A cut's file name from its full name: ``"Fira Mono Bold Italic"`` → ``"FiraMono-BoldItalic.ttf"``."""
    style = next((s for s in _STYLES if full_name.endswith(s)), None)
    if style is None:
        raise ValueError(f"{full_name!r}: a cut's name ends with one of {', '.join(_STYLES)}")
    family = full_name[: -len(style)].strip()
    return f"{family.replace(' ', '')}-{style.replace(' ', '')}.ttf"


@cache
def packaged_fonts(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Paths of pymupdf-fonts' cuts ``keys``, in that order, written under ``<cache>/fonts`` when
    absent or of the wrong size (atomically: a file is renamed into place once whole); () when
    pymupdf-fonts is not installed (it is in requirements.txt)."""
    from importlib.metadata import version

    try:
        import pymupdf_fonts
    except ImportError:
        return ()

    folder = default_cache_dir() / "fonts" / f"pymupdf-fonts-{version('pymupdf-fonts')}"
    paths = []
    for key in keys:
        descriptor = pymupdf_fonts.fontdescriptors[key]
        path = folder / file_name(descriptor["name"])
        if not path.is_file() or path.stat().st_size != descriptor["size"]:
            folder.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
            try:
                with os.fdopen(handle, "wb") as f:
                    f.write(pymupdf_fonts.myfont(key))
                move_into_place(Path(tmp), path)
            finally:
                Path(tmp).unlink(missing_ok=True)  # left only when writing failed
        paths.append(str(path))
    return tuple(paths)


@cache
def held_out_fonts() -> tuple[str, ...]:
    """Paths of the fonts of :data:`HELD_OUT_FONT_PACKAGES` that are installed, one file per cut (its
    TrueType file, else its OpenType one; no variable-weight file), sorted by name; () for none."""
    import importlib.util

    cuts: dict[str, Path] = {}
    for package in HELD_OUT_FONT_PACKAGES:
        if (spec := importlib.util.find_spec(package)) is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations))) / "files"
        for path in sorted(folder.glob("*.otf")) + sorted(folder.glob("*.ttf")):  # a .ttf replaces its .otf
            if "Variable" not in path.stem:
                cuts[path.stem] = path
    return tuple(str(cuts[name]) for name in sorted(cuts))
