"""The plain-text report: each row's interval is the one of the figure the set is judged by."""

from idk.evaluation.report import INTERVAL_NOTE, _table, interval_cell

TEST = {"kind": "test", "n": 10000, "forced_accuracy": 0.9961, "refused": 0.0198, "accepted_accuracy": 0.9989}
TEST["accepted_accuracy_interval"], TEST["refused_interval"] = [0.99799, 0.99944], [0.0171, 0.0227]
CANVAS = {"kind": "shifted", "n": 1000, "forced_accuracy": 0.988, "refused": 0.042, "accepted_accuracy": 0.9948}
CANVAS["accepted_accuracy_interval"], CANVAS["refused_interval"] = [0.98786, 0.99830], [0.0304, 0.0564]
SYMBOLS = {"kind": "ood", "n": 1000, "refused": 0.91, "refused_interval": [0.89061, 0.92704], "auroc": 0.9915}


def test_interval_cell_is_the_accuracy_on_accepted_or_else_the_refused_share():
    assert interval_cell(TEST) == "99.80–99.94"
    assert interval_cell(CANVAS) == "98.79–99.83"
    assert interval_cell(SYMBOLS) == "89.06–92.70"
    assert interval_cell({"n": 3, "refused": 0.0}) == ""  # a report written before the intervals


def test_table_puts_each_interval_under_its_heading():
    rows = _table({"mnist-test": TEST, "canvas": CANVAS, "symbols": SYMBOLS}, "idk (Bayesian)")
    head = rows[1]
    column = head.index("95% interval") + len("95% interval")
    cells = {row.split()[0]: row[column - 11 : column] for row in rows[3:] if not row.startswith("  ")}
    assert cells == {"mnist-test": "99.80–99.94", "canvas": "98.79–99.83", "symbols": "89.06–92.70"}
    assert rows[-1].startswith("symbols") and rows[-1].endswith("0.9915")
    assert "Clopper–Pearson" in INTERVAL_NOTE and "refused share" in INTERVAL_NOTE
