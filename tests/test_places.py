"""Where a table's file cells point: beside the table, by an absolute path, an id with any image
ending, a name alone in the table's folder's sub-folders or theirs; ambiguity said, never a crash."""

from __future__ import annotations

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
