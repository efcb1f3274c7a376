"""The ``layercheck`` command.

Subcommands:

* ``layercheck zoo MODULE [MODULE ...]``: run the gate against every entry of the zoo
  modules' ``ZOO`` dicts (known-bad implementations) and against the production layers;
  exit 0 only when every entry is caught and the production layers pass. See
  :mod:`layercheck.zoo`.

Each subcommand is a function ``_<name>(args) -> exit code`` registered in :func:`parser`.
"""

import argparse
import sys


def parser():
    """The argument parser, one subparser per subcommand."""
    from layercheck import zoo

    top = argparse.ArgumentParser(prog="layercheck", description="Property-based verification of custom Keras layers.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    zoo_parser = commands.add_parser(
        "zoo",
        help="check that the gate catches every known-bad implementation of a zoo",
        description="Run the gate (one pytest run per entry, in this process) against every entry of "
        "the ZOO dicts of the given modules, stopping each at its first failure, then against the "
        "production layers. Exit code 0 only when every entry is caught and the production layers pass.",
    )
    zoo_parser.add_argument(
        "modules",
        nargs="+",
        metavar="MODULE",
        help="a zoo module: a dotted name (tests.zoo.howto) or a path (tests/zoo/howto.py) whose "
        "ZOO = {entry_name: (layer NAME, implementation)}; MODULE:NAME reads the dict NAME instead of ZOO",
    )
    zoo_parser.add_argument(
        "--properties", default=None, metavar="DIR", help="the property directory (default: ./properties)"
    )
    zoo_parser.add_argument(
        "--hypothesis-profile",
        dest="profile",
        default=zoo.DEFAULT_PROFILE,
        metavar="NAME",
        help=f"Hypothesis profile of every run (default: {zoo.DEFAULT_PROFILE}: the ci examples, no shrinking)",
    )
    zoo_parser.add_argument(
        "--devices",
        default=zoo.DEFAULT_DEVICES,
        metavar="NAMES",
        help=f"logical devices to run on, as --layercheck-devices (default: {zoo.DEFAULT_DEVICES})",
    )
    zoo_parser.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPRESSION",
        help="only the properties matching this pytest -k expression (entries and production pass)",
    )
    zoo_parser.add_argument(
        "--no-production",
        dest="production",
        action="store_false",
        help="skip the production pass (the control that the properties hold for the real layers)",
    )
    zoo_parser.add_argument(
        "--log-dir", default=None, metavar="DIR", help="write each run's pytest output to DIR/<entry>.log"
    )
    zoo_parser.add_argument(
        "--echo", action="store_true", help="show pytest's own output of every run as it goes"
    )
    zoo_parser.set_defaults(handler=_zoo)
    return top


def _zoo(args):
    from layercheck import zoo

    return zoo.run(
        args.modules,
        properties=args.properties,
        profile=args.profile,
        device_selection=args.devices,
        production=args.production,
        keyword=args.keyword,
        log_dir=args.log_dir,
        echo=args.echo,
    )


def main(argv=None):
    """Entry point of the ``layercheck`` console script; returns the exit code."""
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
