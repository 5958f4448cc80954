"""The ``mapose`` command.

Each sub-command is one module in this package (``mapose/cli/<name>.py``; underscores become
dashes: ``evaluate_tracks.py`` -> ``mapose evaluate-tracks``) that defines:

- ``HELP``: one line shown by ``mapose --help``;
- ``add_arguments(parser)``: declares its options (argparse);
- ``run(args) -> int``: does the work through the public Python API and returns the exit code.

Modules are discovered automatically, so adding a command never edits this file.  Heavy imports
(torch, sklearn, ...) belong inside ``run``.  Commands may also define a sub-command list by
giving ``add_arguments`` a ``parser.add_subparsers`` of their own.

Any :class:`~mapose.errors.MaposeError` (bad file, unknown body part, ...) is printed as one line
``mapose <command>: error: <message>`` with exit code 2 and no traceback; so is an operating-system
error about a named path (a folder that cannot be created, no permission, no space left).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from typing import Optional, Sequence

from mapose import __version__
from mapose.errors import MaposeError


def _command_modules():
    pkg = importlib.import_module("mapose.cli")
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(f"mapose.cli.{info.name}")
        except ImportError as exc:  # keep the other commands usable; say why this one is not
            yield info.name.replace("_", "-"), _Unavailable(info.name, exc)
            continue
        if hasattr(mod, "run") and hasattr(mod, "add_arguments"):
            yield info.name.replace("_", "-"), mod


class _Unavailable:
    """Stand-in for a command whose module cannot be imported (missing optional dependency)."""

    def __init__(self, name: str, exc: Exception) -> None:
        self.HELP = f"(unavailable: {exc})"
        self._msg = f"command {name!r} cannot be loaded: {exc}"

    def add_arguments(self, parser) -> None:
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(self, args) -> int:
        raise MaposeError(self._msg)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mapose",
        description="mapose: multi-animal pose estimation, tracking and behaviour analysis.",
    )
    parser.add_argument("--version", action="version", version=f"mapose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _command_modules():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _name=name)
    return parser


_PLAIN_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")
_DASH_VALUE = re.compile(r"^-\d")


def _join_dash_values(argv: list) -> list:
    """``--frames -5:10`` -> ``--frames=-5:10``.

    argparse reads a value that starts with a dash as an option unless it is a plain negative
    number, so ``--frames -5:10`` would stop on "expected one argument" instead of reaching the
    command's own check of the range.  Plain negative numbers are left alone (argparse reads them).
    """
    out: list = []
    for tok in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and _DASH_VALUE.match(tok) and not _PLAIN_NEGATIVE.match(tok)):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    import os

    # FFmpeg (inside OpenCV) prints its own decoder chatter on stderr; mapose reports video problems
    # itself, in one line.  Set for the command-line application only, never on import.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    # OpenMP threads that spin while waiting make torch 20-40x slower whenever another process
    # shares the cores (measured on a loaded 2-core machine); sleeping threads cost little when idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(sys.argv[1:] if argv is None else list(argv)))
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not as an error at interpreter exit
        return code
    except BrokenPipeError:  # output piped into a reader that stopped early (mapose info F | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except MaposeError as exc:
        print(f"mapose {args._name}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        # the file system refused (a folder that cannot be created, a path under a file, no space,
        # no permission): a problem with the paths given, so one line naming them, no traceback
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        print(f"mapose {args._name}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mapose {args._name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
