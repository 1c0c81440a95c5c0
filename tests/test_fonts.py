"""Font files beyond matplotlib's: pymupdf-fonts' cuts written into the cache, split by family into
training and validation; the held-out packages apart from both and from every measured font."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from idk.data.fonts import (
    PACKAGED_TRAINING,
    PACKAGED_VALIDATION,
    file_name,
    held_out_fonts,
    packaged_fonts,
)
from idk.data.glyphs import FONT_FILES, has_glyph, render, training_fonts
from idk.errors import DataError


def _families(paths) -> set[str]:
    return {Path(p).stem.split("-")[0].removesuffix("Mono").removesuffix("GO") for p in paths}


@pytest.mark.parametrize(
    ("full", "name"),
    [
        ("Fira Mono Bold Italic", "FiraMono-BoldItalic.ttf"),
        ("Ubuntu Regular", "Ubuntu-Regular.ttf"),
        ("Noto Sans Italic", "NotoSans-Italic.ttf"),
        ("Space Mono Bold", "SpaceMono-Bold.ttf"),
    ],
)
def test_file_name_is_family_then_style(full, name):
    assert file_name(full) == name


def test_packaged_fonts_are_written_once_whole_and_drawn_by_path(tmp_path, monkeypatch):
    """The cuts land in the cache at their full size, in the order asked; a truncated file is
    written again; a second call writes nothing; a path draws as a font name does."""
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path))
    packaged_fonts.cache_clear()
    keys = ("figo", "ubuntm")
    umask = os.umask(0o002)
    try:
        first = packaged_fonts(keys)
    finally:
        os.umask(umask)
    assert [Path(p).name for p in first] == ["FiraGO-Regular.ttf", "UbuntuMono-Regular.ttf"]
    assert all(Path(p).is_relative_to(tmp_path / "fonts") for p in first)
    assert all(Path(p).stat().st_mode & 0o777 == 0o664 for p in first)  # 0666 less the umask: not mkstemp's 0600
    sizes = [Path(p).stat().st_size for p in first]
    assert sizes == [804888, 189004]  # pymupdf-fonts 1.0.5's descriptors
    Path(first[1]).write_bytes(b"\0" * 10)  # a torn file from an earlier crash
    packaged_fonts.cache_clear()
    stamp = Path(first[0]).stat().st_mtime_ns
    assert packaged_fonts(keys) == first
    assert Path(first[1]).stat().st_size == 189004 and Path(first[0]).stat().st_mtime_ns == stamp
    assert not list((tmp_path / "fonts").rglob(".part-*"))
    assert all(has_glyph(d, first[0]) for d in "0123456789")
    page = render("1", first[0], 0.0, 64)
    assert page.shape == (96, 96) and page.min() < 0.2 and page.max() == 1.0
    packaged_fonts.cache_clear()


def test_packaged_fonts_are_none_without_the_package(tmp_path, monkeypatch):
    """Without pymupdf-fonts there is no packaged cut, and nothing written (training says what is missing)."""
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pymupdf_fonts", None)  # import raises ImportError
    packaged_fonts.cache_clear()
    assert packaged_fonts(("figo",)) == () and not list(tmp_path.iterdir())
    with pytest.raises(DataError, match="pymupdf-fonts"):
        training_fonts()
    packaged_fonts.cache_clear()


def test_file_name_names_the_cut_it_cannot_split():
    with pytest.raises(ValueError, match="'Fira Sans Light'"):
        file_name("Fira Sans Light")


def _foot_over_stem(font: str) -> float:
    """The ink width of the bottom rows of a printed "1" over its stem's (the middle third's median)."""
    ink = render("1", font, 0.0, 64) < 0.5
    widths = ink[ink.any(1)].sum(1)
    third = len(widths) // 3
    return widths[-max(2, len(widths) // 10) :].max() / np.median(widths[third : 2 * third])


def test_proportional_cuts_draw_a_1_without_a_foot_and_monospaced_ones_with_one():
    """What the family split rests on (idk.data.fonts): the footless 1 of FiraGO, Ubuntu and Noto Sans."""
    for path in packaged_fonts(PACKAGED_VALIDATION + PACKAGED_TRAINING):
        ratio = _foot_over_stem(path)
        assert (ratio > 2.5) if "Mono" in Path(path).stem else (ratio < 1.3), (Path(path).stem, ratio)


def test_training_and_validation_cuts_share_no_family():
    assert len(PACKAGED_TRAINING) == 12 and len(PACKAGED_VALIDATION) == 14
    assert not set(PACKAGED_TRAINING) & set(PACKAGED_VALIDATION)
    import pymupdf_fonts

    names = {k: pymupdf_fonts.fontdescriptors[k]["name"] for k in PACKAGED_TRAINING + PACKAGED_VALIDATION}
    training = _families(file_name(names[k]) for k in PACKAGED_TRAINING)
    validation = _families(file_name(names[k]) for k in PACKAGED_VALIDATION)
    assert training == {"NotoSans", "Cascadia", "Space"} and validation == {"Fira", "Ubuntu"}


def test_held_out_fonts_are_installed_apart_and_drawn_by_path(tmp_path, monkeypatch):
    """The held-out font packages (requirements-dev.txt) give one file per cut, none of them a font
    that a set measures, training prints in or validation chooses on, and a path works as a name."""
    monkeypatch.setenv("IDK_CACHE_DIR", str(tmp_path))  # training_fonts() writes Noto Sans there
    packaged_fonts.cache_clear()
    fonts = held_out_fonts()
    assert len(fonts) == 61 and all(Path(f).is_file() for f in fonts)
    stems = [Path(f).stem for f in fonts]
    assert "AmaticSC-Regular" in stems and "Roboto-Thin" in stems and "SourceSansPro-Regular" in stems
    assert sum(f.endswith(".otf") for f in fonts) == 10  # Hanken Grotesk's; Source Sans' .ttf replace its .otf
    others = {Path(f).name for f in FONT_FILES + training_fonts()}
    assert not {Path(f).name for f in fonts} & others
    assert not _families(fonts) & {"NotoSans", "Cascadia", "Space", "Fira", "Ubuntu"}
    amatic = next(f for f in fonts if f.endswith("AmaticSC-Regular.ttf"))
    assert all(has_glyph(d, amatic) for d in "0123456789") and not has_glyph("ж", amatic)
    page = render("7", amatic, 0.0, 64)
    assert page.shape == (96, 96) and page.min() < 0.2 and page.max() == 1.0
    packaged_fonts.cache_clear()  # its paths lie in this test's folder
