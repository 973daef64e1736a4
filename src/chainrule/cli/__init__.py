"""The ``chainrule`` command: one subcommand per module in this package (``train``, ``explain``, ...).

Each subcommand module defines ``add_parser(subparsers)``, which registers its options and sets
``func`` to the function that runs it and returns the exit status. With no subcommand the command prints the
lecture's worked example, forward and backward.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import chainrule

# Subcommand modules, in the order they are listed by --help; a missing one is simply not offered.
SUBCOMMANDS = ("train", "explain")


def worked_example() -> str:
    """The lecture's f = (x + y) * z at x=-2, y=5, z=-4, forward and backward, as text."""
    x = chainrule.tensor(-2.0, requires_grad=True)
    y = chainrule.tensor(5.0, requires_grad=True)
    z = chainrule.tensor(-4.0, requires_grad=True)
    q = x + y
    f = q * z
    f.backward()
    return "\n".join([
        "f = (x + y) * z  at x = -2, y = 5, z = -4",
        f"forward:  q = x + y = {q.item():g}    f = q * z = {f.item():g}",
        f"backward: df/dx = {x.grad.item():g}    df/dy = {y.grad.item():g}    df/dz = {z.grad.item():g}",
    ])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chainrule", description="chainrule: autodiff you can read.")
    parser.add_argument("--version", action="version", version=f"chainrule {chainrule.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def subparsers_of(parser) -> list:
    """The names of the subcommands ``parser`` offers."""
    return [name for action in parser._subparsers._group_actions for name in action.choices]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print(worked_example())
        commands = ", ".join(subparsers_of(parser))
        print(f"\ncommands: {commands}; run `chainrule COMMAND --help` (e.g. chainrule explain \"(x + y) * z\" "
              "x=-2 y=5 z=-4)")
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
