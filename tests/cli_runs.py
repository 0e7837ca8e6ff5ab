"""Running ``depgraph`` in-process (click's runner) and checking that a failure is one clean line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from depgraph.cli import cli

CRASH_WORDS = ("Traceback", "internal error")


def run_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def assert_clean_failure(result: Result, codes: tuple[int, ...], *words: str) -> str:
    """The run failed with one of ``codes``, said so in one ``depgraph: error:`` line holding ``words``, and
    crashed nowhere; returns that line."""
    assert result.exit_code in codes, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("depgraph: error:"), result.stderr
    assert not any(word in result.output for word in CRASH_WORDS), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]
