"""Counters the attacking suites fill, and a one-line summary per suite at the end of the run.

Each suite also asserts its own counters (a final test in its module), so a summary line is a
report, never the only check.
"""

from __future__ import annotations

from collections import Counter

import pytest

STATS: dict[str, Counter[str]] = {
    "schemathesis": Counter(),
    "bad-input corpus": Counter(),
    "fault injection": Counter(),
}
"""Suite name -> counts (cases, server_errors, media_lost, double_charges, ...)."""

ORDER = ("cases", "server_errors", "media_lost", "double_charges", "charged")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = []
    for suite, counts in STATS.items():
        if not counts:
            continue
        keys = [k for k in ORDER if k in counts] + sorted(k for k in counts if k not in ORDER)
        lines.append(f"{suite}: " + ", ".join(f"{k}={counts[k]}" for k in keys))
    if lines:
        terminalreporter.section("reliability")
        for line in lines:
            terminalreporter.write_line(line)
