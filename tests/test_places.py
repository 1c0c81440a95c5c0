"""Where a table's file cells point: beside the table, by an absolute path, an id with any image
ending, a name alone in the table's folder's sub-folders; ambiguity said, never a crash."""

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
