"""Where a table's file cells point: beside the table, by an absolute path, an id with any image
ending, a name alone in the table's folder's sub-folders or theirs; ambiguity said, never a crash."""

from __future__ import annotations

from pathlib import Path

from idk.data.manifests import read_manifest
from idk.data.places import Places


def test_a_cell_is_looked_for_in_sub_folders_only_by_its_name_alone(tmp_path):
    """A path with a folder in it (or ..) is where it says, never taken from a sub-folder; an id of
    an absolute path naming two files is skipped with both named (it crashed); a table without a
    header whose two columns are named otherwise keeps its first row."""
    from PIL import Image

    (tmp_path / "t" / "s1").mkdir(parents=True)
    (tmp_path / "abs").mkdir()
    for where in ("t/x.png", "t/s1/y.png", "abs/z.png", "abs/z.jpg"):
        Image.new("RGB", (8, 8), "red").save(tmp_path / where)
    table = tmp_path / "t" / "list.csv"
    places = Places(table)
    assert places.find("y")[1] is None and places.find("y.png")[0] == tmp_path / "t" / "s1" / "y.png"
    assert places.find("s2/y.png")[1] == "no such file" and places.find("../x.png")[1] == "no such file"
    assert places.find(str(tmp_path / "abs" / "z"))[1] == f"names 2 files, {tmp_path}/abs/z.jpg, {tmp_path}/abs/z.png"
    table.write_text("x.png,a\ny,b\n")
    assert read_manifest(table, "list", require_labels=True).classes == ("a", "b")


def test_a_name_alone_is_looked_for_two_levels_down_where_one_level_has_none(tmp_path):
    """ISIC 2020's layout: ``train.csv`` beside ``train/`` (DICOM files of the same ids) and
    ``jpeg/train/`` (the images); a name found one level down is taken there, not also two levels
    down; what macOS' archives leave (``__MACOSX/``) is never looked in."""
    from PIL import Image

    for where in ("jpeg/train", "train", "s1/deeper", "__MACOSX/jpeg"):
        (tmp_path / where).mkdir(parents=True)
    for where in ("jpeg/train/ISIC_1.jpg", "s1/y.png", "s1/deeper/y.png", "__MACOSX/jpeg/ISIC_2.jpg"):
        Image.new("RGB", (8, 8), "red").save(tmp_path / where)
    (tmp_path / "train" / "ISIC_1.dcm").write_bytes(b"DICM")
    places = Places(tmp_path / "train.csv")
    assert places.find("ISIC_1") == (tmp_path / "jpeg" / "train" / "ISIC_1.jpg", None)
    assert places.find("y.png") == (tmp_path / "s1" / "y.png", None)
    assert places.find("ISIC_2")[1] == "no such file"
    assert places.elsewhere == {"jpeg/train/": 1, "s1/": 1}


def test_absolute_paths_of_another_machine_are_found_by_their_longest_end_here(tmp_path):
    """A table written on Windows (or another machine's /home) lists absolute paths that are not
    here: each is found by the longest end of it that is (two 1.jpg kept apart by their folders),
    said in one line; never as a name alone in another folder (a missing dogs/1.jpg is not cats/1.jpg);
    a path whose folder is on this machine is missing, not moved; a relative path gets no such search."""
    from PIL import Image

    for where in ("cats", "dogs", "more/deep", "only/cats"):
        (tmp_path / where).mkdir(parents=True)
    for where in ("cats/1.jpg", "dogs/1.jpg", "more/deep/2.png", "only/cats/3.jpg", "4.jpg"):
        Image.new("RGB", (8, 8), "red").save(tmp_path / where)
    places = Places(tmp_path / "list.csv")
    assert places.find("C:\\Users\\me\\pets\\cats\\1.jpg") == (tmp_path / "cats" / "1.jpg", None)
    assert places.find("D:/pets/dogs/1.jpg") == (tmp_path / "dogs" / "1.jpg", None)
    assert places.find("/home/me/pets/more/deep/2.png") == (tmp_path / "more" / "deep" / "2.png", None)
    assert places.find("\\\\server\\share\\cats\\1.jpg")[0] == tmp_path / "cats" / "1.jpg"
    assert places.find("C:\\photos\\4.jpg") == (tmp_path / "4.jpg", None)  # beside the table
    assert places.find("/home/me/pets/2.png")[1] == "no such file"  # not taken from more/deep/
    assert places.find("D:/pets/only/dogs/3.jpg")[1] == "no such file"  # not only/cats/3.jpg
    assert places.find(str(tmp_path / "only" / "cats" / "1.jpg"))[1] == "no such file"  # here, and missing
    assert places.find("pets/cats/1.jpg")[1] == "no such file"
    assert places.moved["D:/pets/dogs/1.jpg"] == "dogs/1.jpg" and len(places.moved) == 5
    assert not places.elsewhere
    table = tmp_path / "list.csv"
    table.write_text("file,label\nC:\\pets\\cats\\1.jpg,cat\nC:\\pets\\dogs\\1.jpg,dog\n")
    said: list[str] = []
    data = read_manifest(table, "list", warn=said.append, require_labels=True)
    assert len(data) == 2 and data.classes == ("cat", "dog")
    assert said == [
        f"{table}: 2 of the files it lists by absolute paths that are not there (a table written on another "
        "machine?) found by the ends of their paths from its folder, e.g. C:\\pets\\cats\\1.jpg as cats/1.jpg"
    ]


def test_a_level_of_many_sub_folders_is_indexed_once(tmp_path, monkeypatch):
    """Ids beside a folder per patient (hundreds of folders): each level's folders are listed once,
    whatever the number of cells looked for, found or missing."""
    from idk.data import places as module

    for k in range(300):
        (tmp_path / f"p{k:03d}").mkdir()
        (tmp_path / f"p{k:03d}" / f"ISIC_{k}.jpg").write_bytes(b"")
    listed: list[Path] = []
    real = module._Listing.of
    monkeypatch.setattr(module._Listing, "of", classmethod(lambda cls, f: listed.append(f) or real(f)))
    places = Places(tmp_path / "list.csv")
    assert [places.find(f"ISIC_{k}")[0] for k in (0, 299)] == [
        tmp_path / "p000" / "ISIC_0.jpg",
        tmp_path / "p299" / "ISIC_299.jpg",
    ]
    assert all(places.find(f"ISIC_{k}")[1] == "no such file" for k in range(300, 400))
    assert len(listed) == len(set(listed)) == 1 + 300
