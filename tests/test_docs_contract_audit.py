"""The contract audit: every statement of a layer page's contract names the property that
checks it, or says why none does.

The convention is docs/README.md, "Contract audit". In short, on each layer page (a page of
docs/ with a "## Invariants the gate checks" section):

* every ``##`` section is either a contract section (``CONTRACT_SECTIONS``) or a known
  non-contract one (``OTHER_SECTIONS``); a new section must be classified here;
* in a contract section, every list item (bullet or numbered, at any depth) is a statement and
  ends with a check tag: ``([`test_x`](../properties/test_file.py), ...)``, or
  ``(not checked: REASON)``, or links followed by ``; not checked: REASON`` for the part no
  property checks. An item whose own text ends with ``:`` and that has sub-items only
  introduces them, and needs no tag;
* every table in a contract section has a last column headed ``checked by``, and every body
  row holds a check tag there (the same content, without the outer parentheses);
* paragraphs and code blocks explain; they are not audited (a behavioural statement goes in a
  list item or a table row);
* every linked property exists in the file it links; a link to the generic
  ``test_a_bad_argument_or_input_raises_a_clear_error`` names the error input of the page's
  layer spec that checks the statement, ``(error input "ID")``, and that id must exist; a
  layer page links no other layer's own property file;
* a ``not checked`` reason has at least ``MIN_REASON_WORDS`` words.

The tests at the bottom run the audit on small made-up pages, so the audit itself is checked to
fail where it must.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PROPERTIES = ROOT / "properties"

#: The sections whose list items and table rows are contract statements. "Optional method: ..."
#: is matched by prefix.
CONTRACT_SECTIONS = (
    "Contract",
    "Shapes",
    "Math",
    "Dtypes",
    "Constructor parameters and errors",
    "Weights",
    "Optional method",
    "State semantics",
    "Gradients",
    "Decisions a port must copy exactly",
)
#: Sections that are not audited: the list of properties itself.
OTHER_SECTIONS = ("Invariants the gate checks",)
LAYER_PAGE_MARK = "## Invariants the gate checks"
CHECKED_BY = "checked by"
MIN_REASON_WORDS = 4
ARGUMENT_CHECKS = ("test_argument_checks.py", "test_a_bad_argument_or_input_raises_a_clear_error")

LINK = re.compile(r"\[`(test_\w+)`\]\(\.\./properties/(test_\w+\.py)\)(?:\s*\(error input \"([^\"]+)\"\))?")
ERROR_INPUT_NOTE = re.compile(r"\[`(test_\w+)`\]\(\.\./properties/(test_\w+\.py)\)\s*\(error input \"([^\"]+)\"")
NOT_CHECKED = re.compile(r"not checked:\s*(.*)$", re.S)
ITEM = re.compile(r"^(\s*)([*-]|\d+\.)\s+(.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


@dataclass
class Statement:
    page: str
    line: int
    section: str
    text: str
    kind: str  # "item" or "row"
    tag: str | None  # the tag's content, without the outer parentheses; None: no tag
    introduces: bool = False  # an item ending with ":" that has sub-items

    def where(self):
        return f"{self.page}:{self.line} [{self.section}] {self.text[:90]!r}"


# -- parsing -------------------------------------------------------------------------------------


def _trailing_group(text):
    """The content of the balanced parenthesised group that ends ``text``, or None."""
    text = text.rstrip()
    if not text.endswith(")"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                return text[index + 1 : -1]
    return None


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


#: docs/README.md states the conventions common to every layer: its contract sections are audited
#: like a layer page's, and links may go to any layer's property file (a convention holds for all).
CONVENTIONS_PAGE = DOCS / "README.md"
CONVENTION_SECTIONS = ("The contract", "Conventions common to all layers")
#: Its other sections: the reading path, the table of tolerances (checked against the code by
#: test_the_tolerance_tables_are_the_code's), the tags, this audit, where things are.
CONVENTION_OTHER_SECTIONS = ("From start to a checked port", "The tolerance table", "Tags on the invariant lines", "Contract audit", "Where things are")


def _section_kind(title, contract=CONTRACT_SECTIONS, other=OTHER_SECTIONS):
    if any(title == name or title.startswith(name) for name in contract):
        return "contract"
    if title in other:
        return "other"
    return None


def parse(text, page="page.md", contract=CONTRACT_SECTIONS, other=OTHER_SECTIONS):
    """(statements, problems) of one page; ``contract`` and ``other`` classify its sections."""
    statements, problems = [], []
    lines = text.splitlines()
    section, kind = None, None
    fenced = False
    items = []  # open items: dicts(indent, content_indent, lines, start, children)
    blank = False
    index = 0

    def close_items(to_indent=-1):
        while items and items[-1]["indent"] > to_indent:
            item = items.pop()
            body = " ".join(part.strip() for part in item["lines"]).strip()
            introduces = body.endswith(":") and item["children"]
            statements.append(Statement(page, item["start"], section, body, "item", _trailing_group(body), introduces))

    while index < len(lines):
        line = lines[index]
        number = index + 1
        index += 1
        if line.strip().startswith("```"):
            fenced = not fenced
            close_items()
            continue
        if fenced:
            continue
        heading = HEADING.match(line)
        if heading:
            close_items()
            if len(heading.group(1)) == 2:
                section = heading.group(2)
                kind = _section_kind(section, contract, other)
                if kind is None:
                    problems.append(f"{page}:{number}: section {section!r} is neither a contract section nor a known other one (classify it in {Path(__file__).name})")
            blank = False
            continue
        if kind != "contract":
            continue
        if not line.strip():
            blank = True
            continue
        indent = len(line) - len(line.lstrip())
        if not items and indent >= 4:
            continue  # an indented code block: explanation
        item = ITEM.match(line)
        if line.lstrip().startswith("|"):
            close_items()
            table = [line]
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                table.append(lines[index])
                index += 1
            header = _cells(table[0])
            if header[-1].lower() != CHECKED_BY:
                problems.append(f"{page}:{number}: a table in [{section}] has no last column headed {CHECKED_BY!r} (its header: {header})")
                blank = False
                continue
            for offset, row in enumerate(table[2:], start=2):
                cells = _cells(row)
                statements.append(Statement(page, number + offset, section, cells[0] + " | " + " | ".join(cells[1:-1]), "row", cells[-1] or None))
            blank = False
            continue
        if item:
            marker_indent = len(item.group(1))
            close_items(marker_indent - 1)
            if items:
                items[-1]["children"] = True
            items.append({"indent": marker_indent, "content_indent": marker_indent + len(item.group(2)) + 1, "lines": [item.group(3)], "start": number, "children": False})
            blank = False
            continue
        if items and blank:
            # After a blank line: a paragraph of the innermost item it is indented under.
            while items and indent < items[-1]["content_indent"]:
                close_items(items[-1]["indent"] - 1)
        if items:
            if not blank or indent < items[-1]["content_indent"] + 4:
                items[-1]["lines"].append(line)
            # else: an indented code block inside the item, explanation
            blank = False
            continue
        # A paragraph or a code block: explanation, not audited; it ends any open list.
        close_items()
        blank = False
    close_items()
    return statements, problems


# -- checking ------------------------------------------------------------------------------------


def property_tests():
    found = set()
    for path in sorted(PROPERTIES.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        found |= {(path.name, node.name) for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return found


def check_tag(tag, properties, error_inputs, own_file, layer_files):
    """The problems of one tag's content (empty: a valid tag)."""
    if tag is None:
        return ["no check tag: end it with ([`test_...`](../properties/...)) or (not checked: REASON)"]
    problems = []
    rest = tag
    reason = None
    not_checked = NOT_CHECKED.search(tag)
    if not_checked:
        reason = not_checked.group(1).strip()
        rest = tag[: not_checked.start()]
        if len(reason.split()) < MIN_REASON_WORDS:
            problems.append(f"'not checked' without a reason of at least {MIN_REASON_WORDS} words: {reason!r}")
    links = LINK.findall(rest)
    leftover = LINK.sub("", rest)
    if leftover.strip(" ,;\n\t") and leftover.strip(" ,;\n\t") != "and":
        problems.append(f"the tag holds something other than property links and a 'not checked' reason: {leftover.strip()!r}")
    if not links and reason is None:
        problems.append("the tag links no property and says no 'not checked' reason")
    for name, filename, error_input in links:
        if (filename, name) not in properties:
            problems.append(f"links {filename}::{name}, which does not exist")
        if filename in layer_files and filename != own_file:
            problems.append(f"links another layer's property file {filename}")
        if (filename, name) == ARGUMENT_CHECKS:
            if not error_input:
                problems.append(f'a link to {name} must name the error input that checks the statement: (error input "ID")')
            elif error_inputs is not None and error_input not in error_inputs:
                problems.append(f"error input {error_input!r} is not in the layer's spec (its ids: {sorted(error_inputs)})")
    return problems


def audit(text, page, properties, error_inputs, own_file, layer_files, contract=CONTRACT_SECTIONS, other=OTHER_SECTIONS, whole_page=True):
    """Every problem of one page, as lines naming the page, line and statement. ``whole_page``:
    error-input names outside the contract sections are checked too (a layer page's invariant
    lines; not docs/README.md, whose audit section shows the syntax with a placeholder)."""
    statements, problems = parse(text, page, contract, other)
    for statement in statements:
        if statement.introduces and statement.tag is None:
            continue
        for problem in check_tag(statement.tag, properties, error_inputs, own_file, layer_files):
            problems.append(f"{statement.where()}: {problem}")
    # Error-input names anywhere on the page (the invariant lines too) must be the spec's ids.
    if error_inputs is not None and whole_page:
        for number, line in enumerate(text.splitlines(), start=1):
            for name, filename, error_input in ERROR_INPUT_NOTE.findall(line):
                if error_input not in error_inputs:
                    problems.append(f"{page}:{number}: error input {error_input!r} is not in the layer's spec (its ids: {sorted(error_inputs)})")
    return problems, statements


def layer_pages():
    return sorted(page for page in DOCS.glob("*.md") if LAYER_PAGE_MARK in page.read_text())


def spec_error_inputs(layer=None):
    """The error-input ids of one layer's spec; of every spec when ``layer`` is None."""
    from layercheck import registry

    names = registry.names() if layer is None else [layer]
    return {error.id for name in names for error in registry.get(name).error_inputs}


def layer_files():
    from layercheck import registry

    return {f"test_{name}.py" for name in registry.names()}


def test_there_are_layer_pages_to_audit():
    assert {page.stem for page in layer_pages()} >= {"temperature_softmax", "nonnegative_projection", "memory_cell"}


@pytest.mark.parametrize("page", layer_pages(), ids=lambda page: page.stem)
def test_every_contract_statement_is_linked_to_its_property_or_says_why_not(page):
    problems, statements = audit(page.read_text(), page.name, property_tests(), spec_error_inputs(page.stem), f"test_{page.stem}.py", layer_files())
    audited = [statement for statement in statements if not statement.introduces or statement.tag is not None]
    assert audited, f"{page.name}: no contract statement found (is the parser broken?)"
    assert not problems, f"{len(problems)} contract statement(s) of {page.name} without a valid check tag:\n" + "\n".join(problems)


def test_every_convention_statement_is_linked_to_its_property_or_says_why_not():
    problems, statements = audit(
        CONVENTIONS_PAGE.read_text(), CONVENTIONS_PAGE.name, property_tests(), spec_error_inputs(), None, set(),
        contract=CONVENTION_SECTIONS, other=CONVENTION_OTHER_SECTIONS, whole_page=False,
    )  # fmt: skip
    assert {statement.section for statement in statements} == set(CONVENTION_SECTIONS), "the parser found no statement in a convention section"
    assert not problems, f"{len(problems)} convention statement(s) of {CONVENTIONS_PAGE.name} without a valid check tag:\n" + "\n".join(problems)


# -- the audit itself fails where it must ----------------------------------------------------------

PROPS = {("test_memory_cell.py", "test_real"), ARGUMENT_CHECKS}
FILES = {"test_memory_cell.py", "test_other_layer.py"}


def _problems(body):
    text = f"# Layer\n\n## Shapes\n\n{body}\n\n## Invariants the gate checks\n\n* anything\n"
    problems, _ = audit(text, "made_up.md", PROPS, {"good id"}, "test_memory_cell.py", FILES)
    return problems


def test_the_audit_passes_tagged_statements():
    body = (
        "Some prose that only explains (no tag needed).\n\n"
        "    code = block  # not audited\n\n"
        "* a statement, linked. ([`test_real`](../properties/test_memory_cell.py))\n"
        "* a statement checked by an error input, over\n"
        "  two lines. ([`test_a_bad_argument_or_input_raises_a_clear_error`](../properties/test_argument_checks.py) (error input \"good id\"))\n"
        "* an item that introduces its sub-items:\n"
        "  * one. (not checked: a reason of enough words)\n"
        "  * two. ([`test_real`](../properties/test_memory_cell.py); not checked: the wording of the message)\n"
        "1. numbered. (not checked: explanation only, not a behaviour)\n\n"
        "| a | b | checked by |\n| --- | --- | --- |\n| x | y | [`test_real`](../properties/test_memory_cell.py) |\n"
    )
    assert _problems(body) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("* a new statement with no tag.", "no check tag"),
        ("* a statement (with a parenthetical that is no tag)", "something other than"),
        ("* linked to nothing. ([`test_gone`](../properties/test_memory_cell.py))", "does not exist"),
        ("* lazy. (not checked: hard)", "reason of at least"),
        ("* no id. ([`test_a_bad_argument_or_input_raises_a_clear_error`](../properties/test_argument_checks.py))", "must name the error input"),
        ('* bad id. ([`test_a_bad_argument_or_input_raises_a_clear_error`](../properties/test_argument_checks.py) (error input "no such id"))', "not in the layer's spec"),
        ("* other layer. ([`test_real`](../properties/test_other_layer.py))", "another layer's property file"),
        ("* parent\n  * nested, untagged.", "no check tag"),
        ("1. numbered, untagged,\n   over two lines.", "no check tag"),
        ("| a | b |\n| --- | --- |\n| x | y |", "no last column headed"),
        ("| a | checked by |\n| --- | --- |\n| x |  |", "no check tag"),
    ],
)
def test_the_audit_reports(body, expected):
    problems = _problems(body)
    assert any(expected in problem for problem in problems), problems


def test_an_unclassified_section_is_reported():
    problems, _ = audit("# L\n\n## Something new\n\n* x\n", "made_up.md", PROPS, set(), "test_memory_cell.py", FILES)
    assert any("neither a contract section" in problem for problem in problems), problems
