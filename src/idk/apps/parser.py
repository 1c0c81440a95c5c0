"""argparse in idk's form: a bad option is one line naming the command it belongs to (exit status
2), and ``idk --help`` lists every command on one line."""

from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and the hint to ``--help``), and takes no
    option by a prefix of its name (``idk calibrate --data`` was taken as ``--data-dir``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        from idk.apps.failures import one_line

        self.exit(2, one_line(f"{self.prog}: error: {message} (see {self.prog} --help)") + "\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse, but an option no command knows, given after the command, is reported by that
        command (``idk predict: error: unrecognized arguments: --foo (see idk predict --help)``); one of
        the command's own given before it is said to go after it."""
        argv = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            commands = next((a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None)
            command = getattr(parsed, "command", None)
            after = command in argv and extras[0] in argv[argv.index(command) + 1 :]
            owner = commands.choices[command] if commands is not None and command in commands.choices else None
            if owner is not None and after:
                owner.error(f"unrecognized arguments: {' '.join(extras)}")
            option = extras[0].split("=")[0]
            if owner is not None and option in owner._option_string_actions:  # `idk --quiet predict ...`
                owner.error(f"{option} goes after the command: idk {command} ... {option}")
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


class CommandsHelp(argparse.HelpFormatter):
    """``idk --help``: every command and its help on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=18, width=110)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):  # commands sit one indent deeper than measured
            self._action_max_length += self._indent_increment
