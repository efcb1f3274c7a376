"""The verification matrix: one row per (layer, property), one cell per device.

The plugin records every property test's reports into a :class:`Matrix`; at the end of the run
it is drawn in the terminal, fitted to the terminal's width (failures first, with a legend),
and on request written as JSON (for machines, and for merging the shards of a run split across
machines) and as Markdown (for a CI job summary).

A cell is a (layer, property, device) triple; ``device`` is :data:`ANY_DEVICE` for a property
that is not device-sensitive (it runs once, not once per device). Its outcome is the worst of
its tests' outcomes (``failed`` over ``passed`` over ``skipped``), its examples the Hypothesis
test cases its tests ran, and ``tests`` the node ids that fed it.
"""

import dataclasses
import json

#: The device column of a property that runs once, not once per logical device.
ANY_DEVICE = "any"

#: The JSON format's version; :func:`load` refuses others.
FORMAT_VERSION = 1

_RANK = {"failed": 3, "passed": 2, "skipped": 1, None: 0}
_WORD = {"failed": "FAIL", "passed": "pass", "skipped": "skip", None: "?"}
_CELL_WIDTH = 10  # "FAIL 12345"

LEGEND = (
    "legend: a cell is the property's outcome on that device and the Hypothesis examples it ran "
    "(summed over the property's other parameters); '{any}' holds properties that run once, "
    "not once per device; '.' = not run there"
)


@dataclasses.dataclass
class Cell:
    outcome: str | None = None
    examples: int = 0
    tests: set = dataclasses.field(default_factory=set)

    def add_outcome(self, outcome):
        """Keep the worst outcome seen."""
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome = outcome

    def merge(self, other):
        self.add_outcome(other.outcome)
        self.examples += other.examples
        self.tests |= other.tests


class Matrix:
    """The cells of one run, keyed by (layer, property, device)."""

    def __init__(self):
        self.cells = {}

    def __bool__(self):
        return bool(self.cells)

    def __eq__(self, other):
        return isinstance(other, Matrix) and self.cells == other.cells

    def cell(self, layer, prop, device):
        return self.cells.setdefault((layer, prop, device), Cell())

    def clear(self):
        self.cells.clear()

    def merge(self, other):
        """Fold another run's matrix (a shard of the same gate) into this one."""
        for key, cell in other.cells.items():
            self.cell(*key).merge(cell)
        return self

    # -- views -------------------------------------------------------------------------------

    def devices(self):
        """The device columns, the logical devices sorted, then :data:`ANY_DEVICE`."""
        seen = {device for _, _, device in self.cells}
        return sorted(seen - {ANY_DEVICE}) + ([ANY_DEVICE] if ANY_DEVICE in seen else [])

    def rows(self):
        """(layer, property) pairs: failing rows first, then by layer and property."""
        pairs = sorted({(layer, prop) for layer, prop, _ in self.cells})
        return sorted(pairs, key=lambda pair: not self.row_failed(*pair))

    def row_failed(self, layer, prop):
        return any(self.cells.get((layer, prop, device), Cell()).outcome == "failed" for device in self.devices())

    def counts(self):
        """Cells per outcome word."""
        counts = {}
        for cell in self.cells.values():
            counts[_WORD[cell.outcome]] = counts.get(_WORD[cell.outcome], 0) + 1
        return counts

    # -- formats -----------------------------------------------------------------------------

    def terminal_lines(self, width=120):
        """The matrix as lines of at most ``width`` characters: a summary, the legend, a header,
        then one line per (layer, property), failures first; names that do not fit are cut in
        the middle with '...' (the JSON and Markdown forms keep them whole)."""
        device_columns = self.devices()
        counts = self.counts()
        summary = ", ".join(f"{counts[word]} {word}" for word in ("FAIL", "pass", "skip", "?") if word in counts)
        lines = [
            f"{len(self.rows())} properties x {len(device_columns)} device column(s): {summary} (cells)",
            *_wrap(LEGEND.format(any=ANY_DEVICE), width),
        ]
        cells_width = (_CELL_WIDTH + 1) * len(device_columns)
        name_width = max(width - cells_width - 1, 12)
        lines.append(" ".join(device.ljust(_CELL_WIDTH) for device in device_columns) + " layer :: property")
        for layer, prop in self.rows():
            cells = []
            for device in device_columns:
                cell = self.cells.get((layer, prop, device))
                cells.append((f"{_WORD[cell.outcome]} {cell.examples}" if cell else ".").ljust(_CELL_WIDTH))
            lines.append(" ".join(cells) + " " + _cut(f"{layer} :: {prop}", name_width))
        return [line[:width] for line in lines]

    def markdown(self):
        """A GitHub-flavoured Markdown table (a CI job summary), failures first."""
        device_columns = self.devices()
        counts = self.counts()
        lines = [
            "## layercheck verification matrix",
            "",
            ", ".join(f"{counts[word]} {word}" for word in ("FAIL", "pass", "skip", "?") if word in counts)
            + f" (cells of {len(self.rows())} properties x {len(device_columns)} device columns)",
            "",
            LEGEND.format(any=ANY_DEVICE).replace("legend: ", "Each ", 1) + ".",
            "",
            "| layer | property | " + " | ".join(device_columns) + " |",
            "| --- | --- | " + " | ".join("---" for _ in device_columns) + " |",
        ]
        for layer, prop in self.rows():
            cells = []
            for device in device_columns:
                cell = self.cells.get((layer, prop, device))
                text = f"{_WORD[cell.outcome]} {cell.examples}" if cell else "."
                cells.append(f"**{text}**" if cell and cell.outcome == "failed" else text)
            lines.append(f"| {layer} | `{prop}` | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_json(self):
        return {
            "format": "layercheck-matrix",
            "version": FORMAT_VERSION,
            "cells": [
                {
                    "layer": layer,
                    "property": prop,
                    "device": device,
                    "outcome": cell.outcome,
                    "examples": cell.examples,
                    "tests": sorted(cell.tests),
                }
                for (layer, prop, device), cell in sorted(self.cells.items())
            ],
        }

    @classmethod
    def from_json(cls, data, source="<json>"):
        if not isinstance(data, dict) or data.get("format") != "layercheck-matrix":
            raise ValueError(f"{source}: not a layercheck matrix (expected format 'layercheck-matrix')")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{source}: matrix format version {data.get('version')!r}; this layercheck reads {FORMAT_VERSION}")
        matrix = cls()
        for entry in data["cells"]:
            matrix.cell(entry["layer"], entry["property"], entry["device"]).merge(
                Cell(entry["outcome"], int(entry["examples"]), set(entry["tests"]))
            )
        return matrix


def load(path):
    """The matrix written by ``--layercheck-matrix-json`` at ``path``."""
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
    return Matrix.from_json(data, source=str(path))


def write_json(matrix, path):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(matrix.to_json(), handle, indent=1)
        handle.write("\n")


def write_markdown(matrix, path):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(matrix.markdown())


def _cut(text, width):
    if len(text) <= width:
        return text
    keep = width - 3
    return text[: keep - keep // 2] + "..." + text[len(text) - keep // 2 :]


def _wrap(text, width):
    import textwrap

    return textwrap.wrap(text, width=width) or [""]
