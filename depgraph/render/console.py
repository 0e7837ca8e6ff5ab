"""Rich renderables for the terminal: the CLI prints them, the library only builds them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from depgraph.resolve import Resolution


def resolution_table(resolution: Resolution) -> Table:
    """One row per package: version, upload time, metadata source, who requires it."""
    required_by: dict[str, list[str]] = {}
    for edge in resolution.edges:
        required_by.setdefault(edge.target, []).append(edge.source)
    env = resolution.environment
    title = (f"{' '.join(resolution.roots)} for Python {env.python} on {env.platform or 'this machine'}"
             f"{f', as of {resolution.date}' if resolution.date else ''}: {len(resolution.packages)} packages")
    table = Table(title=title, title_justify="left")
    for column in ("package", "version", "uploaded", "metadata", "required by"):
        table.add_column(column)
    for package in resolution.packages:
        metadata = Text("unknown", style="bold red") if package.unknown else Text(package.metadata_source)
        table.add_row(package.name, package.version, (package.upload_time or "?")[:10], metadata,
                      ", ".join(sorted(set(required_by.get(package.name, [])))) or "(requested)")
    return table


def rows_table(rows: list[dict[str, object]]) -> Table:
    """A plain table of uniform rows (download counts, top packages); numbers right-aligned."""
    table = Table()
    columns = list(rows[0]) if rows else ["package", "period", "downloads"]
    for column in columns:
        table.add_column(column, justify="right" if column in ("downloads", "rank") else "left")
    for row in rows:
        table.add_row(*("" if row[c] is None else f"{row[c]:,}" if isinstance(row[c], int) else str(row[c])
                        for c in columns))
    return table
