"""The porting guide lists every property, and every property it links exists.

docs/ is the specification a porter reads without the harness's source: a property added
without a line there, or renamed under it, would silently leave the guide behind.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[`(test_\w+)`\]\(\.\./properties/(test_\w+\.py)\)")


def property_tests():
    found = set()
    for path in sorted((ROOT / "properties").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        found |= {(path.name, node.name) for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return found


def linked_tests():
    linked = set()
    for page in sorted((ROOT / "docs").glob("*.md")):
        linked |= {(filename, name) for name, filename in LINK.findall(page.read_text())}
    return linked


def test_every_property_is_linked_from_the_guide():
    missing = sorted(f"{filename}::{name}" for filename, name in property_tests() - linked_tests())
    assert not missing, f"properties with no line in docs/: {missing}"


def test_every_linked_property_exists_in_the_file_it_links():
    dangling = sorted(f"{filename}::{name}" for filename, name in linked_tests() - property_tests())
    assert not dangling, f"docs/ links properties that do not exist there: {dangling}"
