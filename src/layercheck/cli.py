"""The ``layercheck`` command.

Subcommands:

* ``layercheck zoo MODULE [MODULE ...]``: run the gate against every entry of the zoo
  modules' ``ZOO`` dicts (known-bad implementations) and against the production layers;
  exit 0 only when every entry is caught and the production layers pass. See
  :mod:`layercheck.zoo`.

* ``layercheck vectors export DIR``: write the golden vectors (the references' outputs and
  gradients on fixed cases, ``.npz`` + ``manifest.json``); ``layercheck vectors check DIR``:
  check the production layers (or ``--layer-impl NAME=module:attr``) against them. See
  :mod:`layercheck.vectors`.

* ``layercheck matrix merge SHARD.json [...]``: merge the verification matrices of a gate split
  across machines (``--layercheck-matrix-json`` of each shard) into one, as JSON, Markdown and
  the terminal table. See :mod:`layercheck.matrix`.

The gate itself runs under pytest (``pytest -n auto properties``); these are its companions.

Each subcommand is a function ``_<name>(args) -> exit code`` registered in :func:`parser`.
"""

import argparse
import sys


def parser():
    """The argument parser, one subparser per subcommand."""
    from layercheck import zoo

    top = argparse.ArgumentParser(
        prog="layercheck",
        description="Property-based verification of custom Keras layers: companions of the gate.",
        epilog="The gate itself is a pytest plugin: run 'pytest -n auto properties' (see 'pytest --help', "
        "section 'layercheck'). These commands check the gate (zoo), exchange golden vectors with a port "
        "(vectors) and merge the matrices of a gate split across machines (matrix).",
    )
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
        "--properties",
        default=None,
        metavar="DIR",
        help="the property directory (default: ./properties, else the installed property suite)",
    )
    zoo_parser.add_argument(
        "--tests",
        action="append",
        default=[],
        metavar="PATH",
        help="also run the tests under PATH (repeatable): a project's own layer-specific properties, which "
        "join the suite for every entry and for the production pass",
    )
    zoo_parser.add_argument(
        "--spec",
        dest="specs",
        action="append",
        default=[],
        metavar="module:attr",
        help="register this layer spec (or list of specs) first, as --layercheck-spec does; the working "
        "directory's pyproject.toml layercheck_specs and LAYERCHECK_SPECS are registered anyway",
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

    vectors_parser = commands.add_parser(
        "vectors",
        help="export golden vectors from the references, or check an implementation against them",
        description="Golden vectors: framework-neutral files (vectors.npz + manifest.json) of the "
        "references' outputs and gradients on fixed cases, edge cases included.",
    )
    vectors_commands = vectors_parser.add_subparsers(dest="vectors_command", metavar="ACTION")
    vectors_commands.required = True
    export_parser = vectors_commands.add_parser(
        "export",
        help="write the golden vectors into DIR",
        description="Evaluate the NumPy references on every registered layer's edge samples and write "
        "DIR/vectors.npz (inputs, weights, outputs, cotangents, VJPs) and DIR/manifest.json (what each "
        "case is, its tolerances).",
    )
    export_parser.add_argument("directory", metavar="DIR", help="the folder to write (created if missing)")
    export_parser.set_defaults(handler=_vectors_export)
    check_parser = vectors_commands.add_parser(
        "check",
        help="check an implementation against the golden vectors in DIR",
        description="Run every case of DIR on the implementation under test (the production layers "
        "unless --layer-impl names another) and compare outputs and VJPs. Exit code 0 only when "
        "every case passes.",
    )
    check_parser.add_argument("directory", metavar="DIR", help="a folder written by 'layercheck vectors export'")
    check_parser.add_argument(
        "--layer-impl",
        action="append",
        default=[],
        metavar="NAME=module:attr",
        help="check this implementation of layer NAME (a Keras Layer subclass or factory, a "
        "torch.nn.Module subclass, or a layercheck adapter); repeatable; env LAYERCHECK_LAYER_IMPL as for the gate",
    )
    check_parser.add_argument("-k", dest="keyword", default=None, metavar="TEXT", help="only the cases whose id contains TEXT")
    check_parser.set_defaults(handler=_vectors_check)

    matrix_parser = commands.add_parser(
        "matrix", help="merge the verification matrices of a gate split across machines"
    )
    matrix_commands = matrix_parser.add_subparsers(dest="matrix_command", metavar="ACTION")
    matrix_commands.required = True
    merge_parser = matrix_commands.add_parser(
        "merge",
        help="merge shard matrices into one",
        description="Merge the JSON matrices that each shard wrote with --layercheck-matrix-json into the "
        "matrix of the whole run; print it and, on request, write it as JSON and Markdown. Exit code 1 "
        "when a cell failed, 0 otherwise.",
    )
    merge_parser.add_argument("shards", nargs="+", metavar="SHARD.json", help="a shard's --layercheck-matrix-json file")
    merge_parser.add_argument("--json", dest="json_path", default=None, metavar="PATH", help="write the merged matrix as JSON")
    merge_parser.add_argument("--markdown", default=None, metavar="PATH", help="write the merged matrix as Markdown")
    merge_parser.add_argument("--width", type=int, default=120, metavar="N", help="terminal table width (default 120)")
    merge_parser.set_defaults(handler=_matrix_merge)
    return top


def _matrix_merge(args):
    from layercheck import matrix

    merged = matrix.Matrix()
    try:
        for path in args.shards:
            merged.merge(matrix.load(path))
    except (OSError, ValueError, KeyError) as error:
        print(f"layercheck matrix merge: {error}", file=sys.stderr)
        return 2
    if args.json_path:
        matrix.write_json(merged, args.json_path)
    if args.markdown:
        matrix.write_markdown(merged, args.markdown)
    for line in merged.terminal_lines(width=args.width):
        print(line)
    return 1 if merged.counts().get("FAIL") else 0


def _vectors_export(args):
    from layercheck import environment, vectors

    environment.prepare()
    environment.start_tensorflow()
    manifest = vectors.export(args.directory)
    print(f"layercheck vectors: wrote {len(manifest['cases'])} cases to {args.directory}/{vectors.MANIFEST} and {vectors.ARRAYS}")
    return 0


def _vectors_check(args):
    from layercheck import adapters, environment, vectors

    environment.prepare()
    environment.start_tensorflow()
    specs = adapters.impl_specs_from_environment() + args.layer_impl
    try:
        chosen = adapters.parse_impl_specs(specs)
        loaded = {name: adapters.load_adapter(name, spec) for name, spec in chosen.items()}
    except (ImportError, ValueError) as error:
        print(f"layercheck vectors check: --layer-impl: {error}", file=sys.stderr)
        return 2

    def adapter_for(name):
        if name not in loaded:
            loaded[name] = adapters.KerasAdapter(name)
        return loaded[name]

    try:
        results = vectors.check(args.directory, adapter_for, keyword=args.keyword, out=sys.stdout)
    except (FileNotFoundError, ValueError) as error:
        print(f"layercheck vectors check: {error}", file=sys.stderr)
        return 2
    failed = [result for result in results if not result.passed]
    print(f"layercheck vectors: {len(results) - len(failed)} of {len(results)} cases pass")
    return 1 if failed or not results else 0


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
        specs=args.specs,
        tests=args.tests,
    )


def main(argv=None):
    """Entry point of the ``layercheck`` console script; returns the exit code."""
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
