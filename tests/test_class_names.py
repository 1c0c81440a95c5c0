"""A set's classes matched to a model's: by name, in any order and Unicode form; unnamed classes take the model's."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest
import torch

from idk.data.class_names import in_model_classes, match_classes
from idk.data.images import ImageSet
from idk.errors import DataError


def test_folders_named_by_numbers_are_names_not_positions():
    """A model of folders 0-11 has classes sorted as text ('0', '1', '10', '11', '2', ...); a test
    folder holding only 0-9 keeps its names: its folder "2" is the model's class "2", not its
    third class ("10"). An array without class names takes the model's names by position."""
    model = tuple(sorted(str(c) for c in range(12)))
    folder = ImageSet("t", torch.zeros(3, 1, 2, 2), torch.tensor([0, 2, 9]), tuple(str(c) for c in range(10)))
    mapped = in_model_classes(folder, model, "test/")
    assert [mapped.classes[i] for i in mapped.labels] == ["0", "2", "9"]
    array = ImageSet("a", torch.zeros(2, 1, 2, 2), torch.tensor([0, 2]), ("0", "1", "2"), named=False)
    named = in_model_classes(array, ("cat", "dog", "emu"), "a.npz")
    assert named.classes == ("cat", "dog", "emu") and named.labels.tolist() == [0, 2] and named.named
    assert array.classes == ("0", "1", "2") and not array.named  # the given set is left as it was
    with pytest.raises(DataError, match=r"class 12 is not among the model's"):
        in_model_classes(replace(folder, classes=("12", "1", "2")), model, "test/")
    shapes = ImageSet("s", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("Circle", "square"))
    with pytest.raises(
        DataError,
        match=r"^s/: class Circle is not among the model's \(circle, square\); names are matched with their "
        r"letter case: rename Circle as circle$",
    ):
        in_model_classes(shapes, ("circle", "square"), "s/")
    both = ImageSet("s", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("Circle", "circle"))
    with pytest.raises(DataError, match=r"letter case: merge Circle into circle$"):
        in_model_classes(both, ("circle", "square"), "s/")
    with pytest.raises(
        DataError, match=r"training classes it lacks: circle\); names are matched .*: rename Circle as circle$"
    ):
        match_classes(replace(shapes), ("circle", "square"), "test/")
    # a model trained on unnamed labels (an .npz without `classes`) and a set of names: the error says so
    pets = ImageSet("p", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("cat", "dog"))
    with pytest.raises(
        DataError, match=r"not among the model's \(0, 1, 2\); if the model's classes 0\.\.2 are label indices"
    ):
        in_model_classes(pets, ("0", "1", "2"), "pets/")
    with pytest.raises(DataError, match=r"give this set's labels as indices 0\.\.2"):
        match_classes(replace(pets), ("0", "1", "2"), "pets/")
    # a folder of another name left empty (no image is labelled with it): nothing to judge, not an error
    extra = replace(folder, classes=("0", "extra", "2", *map(str, range(3, 10))))
    assert [model[i] for i in in_model_classes(extra, model, "shift/").labels] == ["0", "2", "9"]
    # names in another Unicode form (folders written by macOS: "e" + combining accent) are the same names
    accented = ("café", "naïve line")
    decomposed = ImageSet("mac", torch.zeros(2, 1, 2, 2), torch.tensor([1, 0]), ("cafe\u0301", "nai\u0308ve line"))
    assert in_model_classes(decomposed, accented, "mac/").labels.tolist() == [1, 0]
    for order in (accented, accented[::-1]):  # a train/ + test/ pair or --test-data: the same, in either order
        halves = replace(decomposed, classes=tuple(unicodedata.normalize("NFD", c) for c in order))
        match_classes(halves, accented, "test/")
        assert halves.classes == accented and [accented[i] for i in halves.labels] == [order[1], order[0]]


def test_unnamed_labels_meeting_numbers_out_of_index_order_are_refused_and_differences_named():
    """Folders 1..11 sort as text ("1", "10", "11", "2", ...): a set of bare label indices could mean
    positions or names, and was taken by position, silently (a researcher's NLL of 17); now refused.
    In index order ("0".."9") the positions are the names, and taken. Other classes are named alone."""
    folders = tuple(sorted(str(c) for c in range(1, 12)))
    bare = ImageSet("t", torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 2]), ("0", "1", "2"), named=False)
    with pytest.raises(DataError, match=r"label 1 could mean the class named 1 or its second class, 10; give"):
        match_classes(replace(bare), folders, "t.npz")
    in_order = replace(bare)
    match_classes(in_order, tuple(map(str, range(10))), "t.npz")
    assert in_order.classes[:3] == ("0", "1", "2") and in_order.labels.tolist() == [0, 1, 2]
    named = ImageSet("t", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("cat", "newt"))
    with pytest.raises(DataError, match=r"not among the training classes: newt; training classes it lacks: dog"):
        match_classes(named, ("cat", "dog"), "test/")


def test_a_number_written_another_way_is_the_same_class():
    """A model trained on a table whose classes pandas wrote as 0.0, 1.0, 2.0 meets a set naming them
    0, 1, 2 (in another order: renumbered) or 02, 1 (some of them); where a side writes one number
    two ways (folders "1" and "1.0"), names are met as written."""
    model = ("0.0", "1.0", "2.0")
    whole = ImageSet("t", torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 2]), ("2", "0", "1"))
    match_classes(whole, model, "t.csv")
    assert whole.classes == model and whole.labels.tolist() == [2, 0, 1]
    some = ImageSet("t", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("02", "1"))
    mapped = in_model_classes(some, model, "t.csv")
    assert mapped.classes == model and mapped.labels.tolist() == [2, 1]
    mixed = ImageSet("t", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("1", "cat"))
    assert in_model_classes(mixed, ("1.0", "cat"), "t/").labels.tolist() == [0, 1]
    twice = ImageSet("t", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), ("1", "2"))
    with pytest.raises(DataError, match=r"class 2 is not among the model's \(1, 1\.0\)"):
        in_model_classes(twice, ("1", "1.0"), "t/")
    one = ImageSet("t", torch.zeros(1, 1, 2, 2), torch.tensor([0]), ("1",))
    assert in_model_classes(one, ("1", "1.0"), "t/").labels.tolist() == [0]  # "1" is "1" there, not "1.0"
    long = ("1" * 29, "1" * 28 + "2")  # numbers told apart in every digit (not rounded to 28)
    close = ImageSet("t", torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), (long[1], long[0]))
    match_classes(close, long, "t/")
    assert close.labels.tolist() == [1, 0]
