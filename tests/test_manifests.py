"""A CSV file listing images and their classes is a data set as a folder of class folders is: the
same images, labels, form and warnings; its table read by column names; its faults one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from idk.apps.cli import main
from idk.data.catalog import load, recorded_test_set, training_data, without_labels
from idk.data.folders import read_folder
from idk.data.images import InputSpec
from idk.data.manifests import listed_files, read_manifest
from idk.errors import DataError
from shapes import CLASSES, make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("shapes"), per_class=8)


def _rows(root: Path) -> list[tuple[str, str]]:
    """(file relative to ``root``, class) for every image of the class folders, in the folders' order."""
    return [(f"{c}/{f.name}", c) for c in CLASSES for f in sorted((root / c).iterdir())]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_listing_reads_as_the_folder_it_lists(shapes):
    """Rows in the folders' order: the same pixels, labels, classes and form; the same conversion line."""
    said_folder, said_csv = [], []
    folder = read_folder(shapes, "shapes", warn=said_folder.append, require_labels=True)
    rows = "\n".join(f"{f},{c}" for f, c in _rows(shapes))
    listing = _write(shapes / "labels.csv", f"Filename,Label\n{rows}\n")
    data = read_manifest(listing, "labels", warn=said_csv.append, require_labels=True)
    assert data.classes == folder.classes == CLASSES and data.spec == folder.spec
    assert torch.equal(data.images, folder.images) and torch.equal(data.labels, folder.labels)
    assert [s.replace(str(listing), "X") for s in said_csv] == [s.replace(str(shapes), "X") for s in said_folder]
    known = read_manifest(listing, "labels", folder.spec, require_labels=True)  # read once, in a form given
    assert torch.equal(known.images, folder.images)


def test_the_table_is_read_by_its_column_names_in_any_order_delimiter_and_row_order(shapes, tmp_path):
    """Columns by name (any case, spaces or hyphens for underscores, other columns left out, a BOM
    before them), ';' or tabs between cells, Excel's "sep=" line, two columns of other names taken
    as (file, class), none at all (the first row a file's), Windows separators; rows in any order
    give the same set (class by class, files by name)."""
    rows = _rows(shapes)[:4] + _rows(shapes)[-4:]  # circles and triangles
    first = None
    tables = {
        "semicolons.csv": "\ufeffid;CLASS;Image Path\r\n"
        + "".join(f"{i};{c};{shapes / f}\r\n" for i, (f, c) in enumerate(rows)),
        "excel.csv": "sep=;\nfile;class-name\n" + "".join(f"{shapes / f};{c}\n" for f, c in rows),
        "excel-tabs.csv": "sep=\t\nfile\tclass-name\n" + "".join(f"{shapes / f}\t{c}\n" for f, c in rows),
        "tabs.csv": "image\tcategory\n" + "".join(f"{shapes / f}\t{c}\n" for f, c in rows[::-1]),
        "positions.csv": "picture,kind\n" + "".join(f"{shapes / f},{c}\n" for f, c in rows),
        "no-header.csv": "".join(f"{f},{c}\n" for f, c in rows[1:] + rows[:1]),
        "windows.csv": "file,label\n" + "".join(f"{f.replace('/', chr(92))},{c}\n" for f, c in rows),
    }
    for name, text in tables.items():
        where = shapes if name in ("no-header.csv", "windows.csv") else tmp_path  # files relative to the table
        data = read_manifest(_write(where / name, text), name, InputSpec(3, 16, 16), require_labels=True)
        assert data.classes == ("circle", "triangle") and data.labels.tolist() == [0] * 4 + [1] * 4, name
        first = first if first is not None else data
        assert torch.equal(data.images, first.images), name


def test_an_id_column_names_files_without_their_endings(shapes, tmp_path):
    """Kaggle's tables: an id column (no file column) names each image without its ending."""
    import shutil

    rows = _rows(shapes)[:3] + _rows(shapes)[-3:]
    for k, (f, _) in enumerate(rows):
        shutil.copy(shapes / f, tmp_path / f"img{k}{Path(f).suffix.upper() if k == 0 else Path(f).suffix}")
    text = "Id,Label\n" + "".join(f"img{k},{c}\n" for k, (_, c) in enumerate(rows))
    data = read_manifest(_write(tmp_path / "ids.csv", text), "ids", InputSpec(3, 16, 16), require_labels=True)
    assert len(data) == 6 and data.classes == ("circle", "triangle")


def test_quoted_names_hold_commas_and_quotes(shapes, tmp_path):
    """A name written by Python's csv module (a comma and a quote in it) is read as written."""
    import csv
    import shutil

    (f1, c1), (f2, c2) = _rows(shapes)[0], _rows(shapes)[-1]
    odd = tmp_path / 'a, "b" 1.png'
    shutil.copy(shapes / f1, odd)
    with (tmp_path / "q.csv").open("w", newline="") as out:
        csv.writer(out).writerows([("file", "label"), (odd.name, c1), (str(shapes / f2), c2)])
    said: list[str] = []
    assert len(read_manifest(tmp_path / "q.csv", "q", warn=said.append, require_labels=True)) == 2
    assert not any("skipped" in s for s in said)


def test_a_file_listed_twice_is_read_once_and_under_two_classes_refused(shapes):
    (f1, c1), (f2, c2) = _rows(shapes)[0], _rows(shapes)[-1]
    said: list[str] = []
    text = f"file,label\n{f1},{c1}\n./{f1},{c1}\n{f2},{c2}\n"
    assert len(read_manifest(_write(shapes / "twice.csv", text), "t", warn=said.append, require_labels=True)) == 2
    assert said[0] == f"{shapes / 'twice.csv'}: 1 file listed again, read once: ./{f1}"
    with pytest.raises(DataError, match=rf"{f1} is listed under two classes, '{c1}' and '{c2}'"):
        read_manifest(_write(shapes / "two.csv", f"file,label\n{f1},{c1}\n{f1},{c2}\n{f2},{c2}\n"), "t")


def test_missing_files_are_skipped_in_one_line_and_faults_of_the_table_are_one_line_each(shapes, tmp_path):
    (f1, c1), (f2, c2) = _rows(shapes)[0], _rows(shapes)[-1]
    said: list[str] = []
    text = f"file,label\n{shapes / f1},{c1}\n{shapes / 'gone.png'},{c1}\n{shapes},{c1}\n{shapes / f2},{c2}\n"
    data = read_manifest(_write(tmp_path / "m.csv", text), "m", warn=said.append, require_labels=True)
    assert len(data) == 2 and any("skipped 2" in s and "gone.png (no such file)" in s for s in said)
    faults = {
        "file,label\n": "lists no images",
        "a,b,c\nx,y,z\n": r"names no image column \(file, filename.*it names 'a', 'b', 'c'",
        f"\n\nfile,label\n\n{shapes / f1},\n{shapes / f2},{c2}\n": "line 5 without a file or a class",
        f"file,label\n{shapes / f1},{c1}\n": "a classifier needs at least two classes, found 1",
        f"file\n{shapes / f1}\n": "names no class column",
    }
    for text, message in faults.items():
        with pytest.raises(DataError, match=message):
            read_manifest(_write(tmp_path / "f.csv", text), "f", require_labels=True)
    (tmp_path / "latin.csv").write_bytes("file,label\nx.png,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not a text CSV file"):
        read_manifest(tmp_path / "latin.csv", "latin", require_labels=True)


def test_a_listing_is_a_training_set_with_a_recorded_test_split_and_an_ood_set_without_classes(
    shapes, tmp_path, data_cfg
):
    rows = "\n".join(f"{f},{c}" for f, c in _rows(shapes))
    listing = _write(shapes / "train.csv", f"file,label\n{rows}\n")
    source = training_data(str(listing), data_cfg)
    assert source.train.classes == CLASSES and len(source.train) + len(source.test) == 24
    again = recorded_test_set(source.record, source.spec, data_cfg, CLASSES)
    assert torch.equal(again.images, source.test.images) and torch.equal(again.labels, source.test.labels)
    flat = _write(shapes / "unlabelled.csv", "path\n" + "\n".join(f for f, _ in _rows(shapes)[:5]) + "\n")
    assert without_labels(str(flat)) and not without_labels(str(listing))
    ood = load(str(flat), data_cfg, source.spec, labelled=False)
    assert ood.labels is None and len(ood) == 5 and ood.images.shape[1:] == source.spec.shape
    assert load(str(listing), data_cfg, source.spec).classes == CLASSES  # a labelled set to evaluate on


def test_idk_trains_on_a_listing_and_evaluates_it(shapes, tmp_path, capsys):
    rows = "\n".join(f"{f},{c}" for f, c in _rows(shapes))
    listing = _write(shapes / "all.csv", f"file,label\n{rows}\n")
    model = tmp_path / "m.pt"
    tiny = ["--epochs", "1", "--members", "1", "--no-twin", "--samples", "4", "--channels", "4", "8", "--dense", "8"]
    assert main(["train", "--data", str(listing), "--out", str(model), "--image-size", "24", *tiny, "-q"]) == 0
    assert "3 classes of 24×24 colour images" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(model), "--noise", "20", "-q"]) == 0
    assert "all.csv-test" in capsys.readouterr().out


def _ham(shapes: Path, where: Path) -> Path:
    """A table as HAM10000's metadata lays one out: the file's id without its ending, the class in a
    column of another name (``dx``; ``dx2`` the same but for the first image's class), other columns
    beside them."""
    rows = "".join(
        f"L{i},{Path(f).parent.name}/{Path(f).stem},{c},{CLASSES[1] if i == 0 else c},50\n"
        for i, (f, c) in enumerate(_rows(shapes))
    )
    return _write(where, "lesion_id,image_id,dx,dx2,age\n" + rows.replace(f"{shapes}/", ""))


def test_columns_named_by_the_user_read_a_table_whose_columns_have_other_names(shapes):
    """``columns`` names the file and class columns (letter case, spaces and hyphens aside): the table
    reads as the folder it lists; without them its class column is not found, and the error names
    the table's columns and --columns; a name the table lacks is said with what it has; the two
    names swapped are said to be."""
    table = _ham(shapes, shapes / "ham.csv")
    folder = read_folder(shapes, "shapes", require_labels=True)
    for columns in (("image_id", "dx"), ("Image ID", "DX")):
        data = read_manifest(table, "ham", require_labels=True, columns=columns)
        assert data.classes == CLASSES and torch.equal(data.images, folder.images)
        assert torch.equal(data.labels, folder.labels)
    with pytest.raises(DataError, match=r"names no class column .*--columns FILE,CLASS \(it names 'lesion_id', 'image"):
        read_manifest(table, "ham", require_labels=True)
    with pytest.raises(DataError, match="--columns names 'diagnosis', which its first row does not .*'dx2', 'age'"):
        read_manifest(table, "ham", require_labels=True, columns=("image_id", "diagnosis"))
    with pytest.raises(
        DataError,
        match=r"ham.csv: --columns dx,image_id names its class column first: 'image_id' names files and 'dx' none; "
        r"give the file column first, --columns image_id,dx$",
    ):
        read_manifest(table, "ham", require_labels=True, columns=("dx", "image_id"))  # swapped
    for k in (0, 1):  # classes 0 and 1 beside files 0.png and 1.png: a real conflict, no swap
        (shapes / f"{k}.png").write_bytes((shapes / _rows(shapes)[k][0]).read_bytes())
    twice = _write(shapes / "twice.csv", "file,label\n0.png,1\n1.png,0\n0.png,0\n")
    with pytest.raises(DataError, match=r"listed under two classes, '1' and '0' \(rows of one image must agree\)$"):
        read_manifest(twice, "twice", require_labels=True, columns=("file", "label"))
    for made in ("0.png", "1.png", "twice.csv"):
        (shapes / made).unlink()
    assert without_labels(str(table), ("image_id", None)) and not without_labels(str(table), ("image_id", "dx"))
    unlabelled = read_manifest(table, "ham", columns=("image_id", None))
    assert unlabelled.labels is None and len(unlabelled) == len(folder)


def test_a_folder_of_image_folders_beside_a_table_says_the_table_is_not_read(shapes, tmp_path, capsys):
    """HAM10000 or APTOS as shipped, given as a folder: its image folders are read as classes, and
    the table beside them is named with the option that reads it; an abbreviated option is no option."""
    import shutil

    shutil.copytree(shapes, tmp_path / "set", ignore=shutil.ignore_patterns("*.csv"))
    _write(tmp_path / "set" / "meta.csv", "image_id,dx\n")
    said: list[str] = []
    read_folder(tmp_path / "set", "set", warn=said.append, require_labels=True)
    assert any(
        f"the table beside them is not: if meta.csv lists the images and their classes, give it (--data {tmp_path / 'set' / 'meta.csv'})"
        in s
        for s in said
    )
    with pytest.raises(SystemExit) as stopped:
        main(["calibrate", "--model", "m.pt", "--data", "x"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --data x" in capsys.readouterr().err  # not taken as --data-dir


def test_the_columns_option_takes_one_or_two_names():
    import argparse

    from idk.apps.option_types import columns

    assert columns("image_id,dx") == ("image_id", "dx") and columns(" file ") == ("file", None)
    for bad in ("a,b,c", ",dx", "file,", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="is not FILE,CLASS"):
            columns(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="names one column twice"):
        columns("image_id,Image_ID")


def test_a_model_trained_on_a_table_by_named_columns_reads_it_by_them_again(shapes, tmp_path, capsys):
    """``idk train --columns`` records them: calibrate, evaluate (its recorded split) and resume read
    its table by them without the option, or by the same names written otherwise; other columns
    giving other labels are refused with both namings said; evaluate's --columns reads the tables it
    is given (an --ood table by its file column alone); on a folder the option is said to do nothing."""
    table = _ham(shapes, tmp_path / "ham.csv")
    for f, _ in _rows(shapes):  # the table's images beside it (an id is found relative to the table)
        (tmp_path / f).parent.mkdir(exist_ok=True)
        (tmp_path / f).write_bytes((shapes / f).read_bytes())
    model = tmp_path / "m.pt"
    tiny = ["--members", "1", "--no-twin", "--samples", "4", "--channels", "4", "8", "--dense", "8", "-q"]
    train = ["train", "--data", str(table), "--out", str(model), "--image-size", "24", *tiny]
    assert main([*train, "--epochs", "1", "--columns", "image_id,dx"]) == 0
    from idk.training import checkpoint

    assert checkpoint.read(model).data.columns == ("image_id", "dx")
    capsys.readouterr()
    assert main(["calibrate", "--model", str(model), "--target-refusal", "0.1", "--out", str(tmp_path / "c.pt")]) == 0
    assert main(["evaluate", "--model", str(model), "--noise", "10", "-q"]) == 0
    assert "ham.csv-test" in capsys.readouterr().out
    shifted = ["evaluate", "--model", str(model), "--noise", "0", "--shift", f"again={table}", "-q"]
    assert main([*shifted, "--columns", "image_id,dx2"]) == 0
    ood = _write(tmp_path / "new.csv", "image_id\n" + "".join(f"{f[:-4]}\n" for f, _ in _rows(shapes)[:5]))
    assert main([*shifted, f"--ood=new={ood}", "--columns", "image_id,dx"]) == 0  # no class column: none read
    assert main(shifted) == 0  # without the option: read by the model's own columns, its layout
    assert "read by the model's own columns (--columns image_id,dx)" in capsys.readouterr().err
    part = "".join(table.read_text().splitlines(keepends=True)[:12])
    copy = _write(tmp_path / "copy.csv", part)  # a table in the model's layout, not its own: read by its columns
    assert main(["evaluate", "--model", str(model), "--test-data", str(copy), "--shift", f"c={copy}", "-q"]) == 0
    assert "copy.csv: read by the model's own columns (--columns image_id,dx)" in capsys.readouterr().err
    other = _write(tmp_path / "other.csv", part.replace("image_id,dx,", "image_id,diagnosis,"))
    assert main(["evaluate", "--model", str(model), "--shift", f"c={other}", "-q"]) == 2  # another layout
    assert "(the model's own tables were read by --columns image_id,dx)" in capsys.readouterr().err
    rows = [line.split(",") for line in part.splitlines()[1:4]]
    asked = _write(tmp_path / "asked.csv", "file,image_id\n" + "".join(f"x{i},{r[1]}\n" for i, r in enumerate(rows)))
    assert main(["predict", str(asked), "--model", str(model), "--json"]) == 0  # by the model's file column
    assert [r["file"] for r in json.loads(capsys.readouterr().out)] == [r[1] for r in rows]
    assert main([*train, "--resume", "--epochs", "2", "--columns", "image_id,dx2"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: it trained on" in err  # a class moved: another split, another count
    assert "its tables were read by --columns image_id,dx, these by --columns image_id,dx2" in err
    assert main([*train, "--resume", "--epochs", "2", "--columns", "Image ID,DX"]) == 0  # the same columns
    assert main([*train, "--resume", "--epochs", "3"]) == 0
    folder = ["train", "--data", str(shapes), "--out", str(tmp_path / "f.pt"), "--image-size", "24", "--epochs", "1"]
    assert main([*folder, *tiny, "--columns", "a,b"]) == 0
    assert "--columns names a .csv table's columns" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(model), "--noise", "10", "--ood", f"f={shapes}", "--columns", "a,b"]) == 0
    assert "--columns names a .csv table's columns" in capsys.readouterr().err


def test_files_not_beside_the_table_are_found_in_its_folders_sub_folders(shapes, tmp_path):
    """HAM10000's layout: the metadata beside two folders holding the images by id: found there (a
    folder's set, read the same); an id naming two files skipped with both named; a table none of
    whose files is anywhere near refused with where they were looked for."""
    where = tmp_path / "ham"
    for i, (f, _) in enumerate(_rows(shapes)):
        part = where / f"HAM10000_images_part_{1 + i % 2}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"ISIC_{i:07d}{Path(f).suffix}").write_bytes((shapes / f).read_bytes())
    rows = "".join(f"L{i},ISIC_{i:07d},{c}\n" for i, (_, c) in enumerate(_rows(shapes)))
    table = _write(where / "HAM10000_metadata.csv", "lesion_id,image_id,dx\n" + rows)
    data = read_manifest(table, "ham", require_labels=True, columns=("image_id", "dx"))
    folder = read_folder(shapes, "shapes", require_labels=True)
    assert len(data) == len(folder) and torch.equal(data.labels, folder.labels)
    twin = where / "HAM10000_images_part_2" / "ISIC_0000000.png"
    twin.write_bytes(b"")
    said: list[str] = []
    assert len(read_manifest(table, "ham", warn=said.append, require_labels=True, columns=("image_id", "dx"))) == 23
    assert (
        "23 of the files it lists found not beside it but in its folder's sub-folders HAM10000_images_part_1/"
        in (said[0])
    )
    assert any("ISIC_0000000 (names 2 files, HAM10000_images_part_1/ISIC_0000000" in s for s in said)
    (tmp_path / "elsewhere").mkdir()  # a folder beside the images' folders: not looked for there
    away = _write(
        tmp_path / "elsewhere" / "list.csv",
        "image_id,label\n" + "".join(r.split(",", 1)[1] for r in rows.splitlines(True)),
    )
    with pytest.raises(
        DataError,
        match=r"none of the 24 files it lists is there \(e.g. 'ISIC_0000000'\).*sub-folders too, one or two levels down",
    ):
        read_manifest(away, "away", require_labels=True)


def test_a_table_of_one_column_lists_files_and_one_number_written_two_ways_is_refused(shapes, tmp_path):
    """Kaggle's test.csv (one column of ids, of any name) is a list of files, with a header or none
    (a first row naming an image, there or not, is a row); class cells that pandas wrote as 0.0
    beside 0 are refused by name (they would be two classes); numbers written one way are classes
    as written ("00", "01")."""
    files = [f for f, _ in _rows(shapes)]
    for text in ("id_code\n" + "\n".join(files) + "\n", "\n".join(files) + "\n", "gone.png\n" + "\n".join(files)):
        listed = read_manifest(_write(shapes / "one.csv", text), "one", labelled=False)
        assert len(listed) == len(files) and listed.labels is None
    assert [cell for cell, *_ in listed_files(shapes / "one.csv")][:2] == ["gone.png", files[0]]
    numbered = "".join(f"{f},{CLASSES.index(c)}{'.0' * (i % 2)}\n" for i, (f, c) in enumerate(_rows(shapes)))
    with pytest.raises(DataError, match=r"one number written two ways \('0' and '0.0'; '1' and '1.0'; '2' and '2.0'\)"):
        read_manifest(_write(shapes / "floats.csv", "file,target\n" + numbered), "floats", require_labels=True)
    kept = "".join(f"{f},0{CLASSES.index(c)}\n" for f, c in _rows(shapes))
    padded = read_manifest(_write(shapes / "padded.csv", "file,y\n" + kept), "p", require_labels=True)
    assert padded.classes == ("00", "01", "02")
    with pytest.raises(DataError, match="'007' and '7'"):
        read_manifest(_write(shapes / "seven.csv", f"file,y\n{files[0]},7\n{files[1]},007\n"), "s", require_labels=True)


def test_a_test_table_naming_numbers_another_way_meets_the_training_classes(shapes, tmp_path, data_cfg):
    """A training table whose classes pandas wrote 1.0, 2.0, 3.0 and a test table naming some of them
    1, 2: the test set is of the model's classes (it was refused, "training classes it lacks")."""
    number = {c: f"{k + 1}.0" for k, c in enumerate(CLASSES)}
    train = _write(
        tmp_path / "train.csv", "file,label\n" + "".join(f"{shapes / f},{number[c]}\n" for f, c in _rows(shapes))
    )
    some = [(f, c) for f, c in _rows(shapes) if c != CLASSES[2]][::2]
    test = _write(tmp_path / "test.csv", "file,label\n" + "".join(f"{shapes / f},{number[c][0]}\n" for f, c in some))
    said: list[str] = []
    data = training_data(str(train), data_cfg, str(test), warn=said.append)
    assert data.test.classes == data.train.classes == ("1.0", "2.0", "3.0")
    assert sorted(set(data.test.labels.tolist())) == [0, 1] and len(data.test) == len(some)
    assert any("no test image of 3.0" in s for s in said)
