"""``idk info``'s text: a checkpoint's description (:meth:`~idk.training.checkpoint.Checkpoint.
describe_in_words`) as indented ``key: value`` lines, not Python's dict and tuple reprs."""

from __future__ import annotations

from typing import Any


def format_info(info: dict[str, Any]) -> str:
    """One ``key: value`` line per field; a mapping's fields indented under its key; lists of
    mappings (a mixture's members) one line each; (name, value) pairs as ``name=value``; a list
    of sentences (the warnings) one ``- sentence`` line each."""
    lines: list[str] = []
    for key, value in info.items():
        _add(lines, str(key), value, 0)
    return "\n".join(lines)


def _add(lines: list[str], key: str, value: Any, depth: int) -> None:
    pad = "  " * depth
    if isinstance(value, dict) and value:
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _add(lines, str(k), v, depth + 1)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        lines.append(f"{pad}{key}:")
        lines += [f"{pad}  {i}: {_inline(v)}" for i, v in enumerate(value, 1)]
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and " " in v for v in value):
        lines.append(f"{pad}{key}:")
        lines += [f"{pad}  - {v}" for v in value]
    else:
        lines.append(f"{pad}{key}: {_shown(value)}")


def _inline(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_shown(v)}" for k, v in d.items())


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "none" if not value else _inline(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        if all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):  # (name, value) pairs
            return ", ".join(f"{v[0]}={_shown(v[1])}" for v in value)
        return ", ".join(_shown(v) for v in value)
    return str(value)
