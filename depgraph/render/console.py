"""Rich renderables for the terminal: the CLI prints them, the library only builds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
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


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int] | tuple[int, ...]) -> str:
    """One character per value, scaled between the smallest and the largest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - low) / span * (len(SPARKS) - 1) + 0.5))] for v in values)


VERDICT_STYLES = {"orphan-spike": "bold red", "coherent-spike": "bold yellow", "index-wide-surge": "bold magenta",
                  "no-spike": "bold green", "insufficient-data": "bold"}


def explanation_renderables(data: dict[str, Any]) -> list[Any]:
    """The verdict line first, then the evidence: sparkline, dependencies, cluster, index, suspects, summary."""
    from rich.panel import Panel

    downloads = data["downloads"]
    out: list[Any] = [Text.assemble((data["verdict"], VERDICT_STYLES.get(data["verdict"], "bold")),
                                    f"  {data['package']} on {data['date']}: {downloads['count']:,} downloads, "
                                    f"baseline {downloads['baseline']:,.0f}"
                                    + (f", {downloads['ratio']:.1f}x" if downloads["ratio"] else ""))]
    out.append(Text(f"last 28 days  {sparkline(data['history'])}  ({min(data['history'], default=0):,} to "
                    f"{max(data['history'], default=0):,} a day)"))
    excess = data.get("signature", {}).get("python_excess") or {}
    if excess:
        out.append(Text("excess by Python  " + ", ".join(f"{version} {share:.0%}" for version, share in
                                                           sorted(excess.items(), key=lambda item: -item[1]))))
    if data["dependencies"]:
        out.append(rows_table([{"dependency": d["package"], "downloads": d["count"],
                                "baseline": round(d["baseline"]), "excess": round(d["excess"])}
                               for d in data["dependencies"]]))
    if len(data["cluster"]) > 1:
        versions = data["cluster_versions"]
        out.append(Text(f"spiked together (similarity {data['cluster_similarity']}): "
                        + ", ".join(f"{p} {versions.get(p, '')}".strip() for p in data["cluster"])))
    index = data.get("explicit_index")
    if index:
        out.append(rows_table([{"package": p["package"], "default config": p["expected_index_default"],
                                "piwheels primary": p["expected_index_primary"], "observed": p["observed"],
                                "explained": "yes" if p["explained"] else "no"} for p in index["per_package"]]))
        out.append(Text(f"explicit index likely: {'yes' if index['likely'] else 'no'} — {index['reason']}"))
    for suspect in data["suspects"][:5]:
        out.append(Panel("\n".join(f"• {line}" for line in suspect["evidence"]),
                         title=f"{suspect['package']} {suspect['version']} (score {suspect['score']:.2f})",
                         title_align="left"))
    for note in data.get("notes", []):
        out.append(Text(f"note: {note}", style="dim"))
    out.append(Text(data["summary"]))
    return out


def spikes_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="spiking packages", title_justify="left")
    for column in ("package", "date", "count", "baseline", "ratio", "excess", "verdict", "cluster"):
        table.add_column(column, justify="right" if column in ("count", "baseline", "ratio", "excess") else "left")
    for row in rows:
        table.add_row(row["package"], row["date"], f"{row['count']:,}", f"{row['baseline']:,.0f}",
                      "" if row["ratio"] is None else f"{row['ratio']:.1f}", f"{row['excess']:,.0f}",
                      row["verdict"], str(row.get("cluster") or ""))
    return table
