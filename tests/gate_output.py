"""What a test that runs the gate in a subprocess shows when the run's outcome is not the
expected one: the failures and the summary line, not the end of the output (the end is the
skip list under ``-rs``, which hides what failed)."""

_FAILURES = "= FAILURES ="
_SUMMARY = "short test summary info"


def report(result, limit=8000):
    """The FAILURES section of a pytest run (each failure cut to its head), its FAILED lines
    and its last line; the end of stdout and stderr where there is no FAILURES section."""
    out = result.stdout
    start = out.find(_FAILURES)
    if start < 0:
        return f"{out[-limit // 2:]}\n{result.stderr[-limit // 2:]}"
    end = out.find(_SUMMARY, start)
    failures = out[start : end if end >= 0 else len(out)]
    failed_lines = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
    last = out.strip().splitlines()[-1]
    return "\n".join([failures[:limit], *failed_lines, last])
