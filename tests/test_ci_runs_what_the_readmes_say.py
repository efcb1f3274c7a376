"""CI runs what the READMEs tell a user to run: the repository's second command (the whole
suite) and the example project's commands, word for word (up to pip's ``--quiet``).

A README command that CI does not run could rot unnoticed; a CI step that no README states
would test something a user never does.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(text):
    """The shell commands of a README's first ``bash`` block, split at ``&&``, comments dropped."""
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    commands = []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if not line or line.startswith("#"):
            continue
        commands += [part.strip() for part in line.split("&&")]
    return commands


def _ci_lines():
    return [line.strip().replace("--quiet ", "") for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def test_ci_runs_the_readmes_test_command():
    commands = _commands((ROOT / "README.md").read_text())
    # The README's second line is the whole suite (the first, the gate alone, is part of it).
    whole_suite = [command for command in commands if "port-torch,test" in command or command.endswith("pytest -n auto")]
    assert whole_suite, commands
    lines = _ci_lines()
    for command in whole_suite:
        assert command in lines, f"README command not run by .ci/run: {command}"


def test_ci_runs_the_example_project_as_its_readme_says():
    commands = _commands((ROOT / "examples" / "my_layers" / "README.md").read_text())
    assert any("pytest -n auto" in command for command in commands) and any("layercheck zoo" in command for command in commands)
    lines = _ci_lines()
    start = lines.index("cd examples/my_layers")
    assert lines[start + 1 :][-len(commands) :] == commands, (lines[start:], commands)
