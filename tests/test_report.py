"""The plain-text report: each row's interval is the one of the figure the set is judged by."""

import math

from idk.evaluation.report import (
    GIVEN_SHIFTED,
    GROUPS,
    INTERVAL_NOTE,
    _table,
    format_report,
    group_starts,
    interval_cell,
)

TEST = {"kind": "test", "n": 10000, "forced_accuracy": 0.9961, "refused": 0.0198, "accepted_accuracy": 0.9989}
TEST["accepted_accuracy_interval"], TEST["refused_interval"] = [0.99799, 0.99944], [0.0171, 0.0227]
CANVAS = {"kind": "shifted", "n": 1000, "forced_accuracy": 0.988, "refused": 0.042, "accepted_accuracy": 0.9948}
CANVAS["accepted_accuracy_interval"], CANVAS["refused_interval"] = [0.98786, 0.99830], [0.0304, 0.0564]
SCANNED = {"kind": "shifted", "n": 1000, "forced_accuracy": 0.999, "refused": 0.006, "accepted_accuracy": 1.0}
SCANNED["accepted_accuracy_interval"], SCANNED["refused_interval"] = [0.99629, 1.0], [0.0022, 0.013]
SYMBOLS = {"kind": "ood", "n": 1000, "refused": 0.91, "refused_interval": [0.89061, 0.92704], "auroc": 0.9915}


def test_interval_cell_is_the_accuracy_on_accepted_or_else_the_refused_share():
    assert interval_cell(TEST) == "99.80–99.94"
    assert interval_cell(CANVAS) == "98.79–99.83"
    assert interval_cell(SCANNED) == "99.63–100.00"
    assert interval_cell(SYMBOLS) == "89.06–92.70"
    assert interval_cell({"kind": "ood", "n": 3, "refused": 0.0}) == ""  # a report written before the intervals
    nothing_answered = {**CANVAS, "refused": 1.0, "accepted_accuracy": math.nan, "accepted_accuracy_interval": [0, 1]}
    assert (
        interval_cell(nothing_answered) == "" and interval_cell({**nothing_answered, "accepted_accuracy": None}) == ""
    )


def test_table_puts_each_interval_under_its_heading():
    sets = {"mnist-test": TEST, "canvas": CANVAS, "scanned": SCANNED, "a-long-set-name-here": SYMBOLS}
    rows = _table(sets, "idk (Bayesian)")
    head = rows[1]
    end = head.index("95% interval") + len("95% interval")  # cells are right-aligned under the heading
    cells = {row.split()[0]: row[:end].split()[-1] for row in rows[3:] if not row.startswith("  ")}
    assert cells == {
        "mnist-test": "99.80–99.94",
        "canvas": "98.79–99.83",
        "scanned": "99.63–100.00",
        "a-long-set-name-here": "89.06–92.70",
    }
    assert rows[-1].startswith("a-long-set-name-here") and rows[-1].endswith("0.9915")


def test_a_large_nll_keeps_to_its_column():
    """An NLL of 690.7755 ran into the interval column ("0.00–60.24690.7755")."""
    rows = _table({"mnist-test": TEST, "canvas": {**CANVAS, "nll": 690.7755}}, "idk (Bayesian)")
    assert rows[-1].split()[-1] == "690.8" and rows[-1].split()[-2] == "98.79–99.83"


def test_shifted_sets_that_are_all_the_users_are_not_said_to_be_drawn_or_printed():
    """A user's photos given with --shift were headed "drawn, printed or scanned otherwise", the words
    for the sets idk builds from drawn symbols; beside those, the heading stays theirs."""
    mine = {**SCANNED, "given": True}
    assert group_starts({"test": TEST, "mine": mine, "symbols": SYMBOLS}) == {
        "mine": GIVEN_SHIFTED,
        "symbols": GROUPS["ood"],
    }
    assert group_starts({"test": TEST, "canvas": CANVAS, "mine": mine})["canvas"] == GROUPS["shifted"]
    assert "from other sources" in GIVEN_SHIFTED and "drawn" not in GIVEN_SHIFTED


def test_the_report_ends_with_the_intervals_note_only_when_it_has_intervals():
    report = {
        "rule": {"kind": "threshold", "score": "entropy", "threshold": 0.4, "refusal": 0.02, "n_calib": 8000},
        "model": {
            "preset": "cnn",
            "kind": "BNN",
            "net": {"arch": "cnn"},
            "data": "mnist",
            "classes": list("0123456789"),
        },
        "samples": 100,
        "datasets": {"mnist-test": TEST, "symbols": SYMBOLS},
    }
    text = format_report(report)
    assert text.endswith("\n\n" + INTERVAL_NOTE) and "Clopper–Pearson" in INTERVAL_NOTE
    # the first line names the preset, the model's kind and its network apart (it read "cnn (BNN, cnn)")
    assert text.startswith("model: cnn preset, BNN (cnn network) on mnist: 10 classes of ")
    mixture = {**report, "model": {**report["model"], "kind": "BNNMixture", "members": 3}}
    assert format_report(mixture).startswith("model: cnn preset, BNNMixture of 3 posteriors (cnn network) on mnist")
    old = {**report, "datasets": {"symbols": {k: v for k, v in SYMBOLS.items() if k != "refused_interval"}}}
    assert "interval:" not in format_report(old)


def test_answers_naming_several_classes_are_said_beside_the_table():
    """The percentile rule's answers naming several classes ("either 4 or 9") count as answered:
    their share per set is said under the table (text) and in a column of its own (HTML), only
    where some set has any."""
    from idk.evaluation.html_report import _table as html_table
    from idk.evaluation.report import several_named

    sets = {"mnist-test": {**TEST, "hesitant": 0.0123}, "canvas": {**CANVAS, "hesitant": 0.0}, "symbols": SYMBOLS}
    assert several_named(sets) == (
        "answered with several classes (counted as answered; accuracy of the most probable): mnist-test 1.23%"
    )
    assert "answered with several classes" in html_table(sets) and "1.23%" in html_table(sets)
    single = {"mnist-test": {**TEST, "hesitant": 0.0}, "symbols": SYMBOLS}
    assert several_named(single) is None and "several classes" not in html_table(single)
