"""The command line: parse arguments, call one library function, hand the result to a renderer.

Errors become one line on stderr and an exit code (2: bad usage or input, 1: failed work); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click

from depgraph import __version__
from depgraph.errors import BadInput, DepgraphError


class DepgraphGroup(click.Group):
    """Maps library errors to one line and an exit code, unless --debug asks for the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DepgraphError as error:
            if ctx.meta.get("depgraph.debug"):
                raise
            click.echo(f"depgraph: error: {error}", err=True)
            ctx.exit(error.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("depgraph: interrupted", err=True)
            ctx.exit(130)
        except Exception as error:
            if ctx.meta.get("depgraph.debug"):
                raise
            click.echo(f"depgraph: internal error: {type(error).__name__}: {error} (rerun with --debug and "
                       "report it)", err=True)
            ctx.exit(1)


@click.group(cls=DepgraphGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="depgraph")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("--offline", is_flag=True, envvar="DEPGRAPH_OFFLINE", help="Use only what is cached; fetch nothing.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, offline: bool) -> None:
    """Investigate Python package indexes: dependency graphs as of a date, downloads, and spikes."""
    ctx.meta["depgraph.debug"] = debug
    ctx.obj = {"offline": offline}


def resolve_options(function: Callable[..., Any], requirements_required: bool = True) -> Callable[..., Any]:
    """The options shared by ``resolve`` and ``graph``."""
    options = [
        click.argument("requirements", nargs=-1, required=requirements_required),
        click.option("--date", help="Resolve as of the end of this UTC day (YYYY-MM-DD)."),
        click.option("--python", "python", help="Target Python version, e.g. 2.7 or 3.7 (default: this one)."),
        click.option("--platform", help="Target wheel platform tag, e.g. linux_armv7l (default: this machine)."),
        click.option("--index", "indexes", multiple=True, metavar="pypi|piwheels|pip|URL",
                     help="Index to use (repeatable, first wins ties); 'pip' reads pip's configuration."),
        click.option("--pypi-url", envvar="DEPGRAPH_PYPI_URL", help="PyPI's Simple API base URL."),
        click.option("--piwheels-url", envvar="DEPGRAPH_PIWHEELS_URL", help="piwheels' site root URL."),
        click.option("--refresh", is_flag=True, help="Ignore cached answers and ask the index again."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def db_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="DEPGRAPH_DB",
                        help="The download store (default: downloads.duckdb in the user data directory).")(function)


def _resolve(ctx: click.Context, requirements: tuple[str, ...], date: str | None, python: str | None,
             platform: str | None, indexes: tuple[str, ...], pypi_url: str | None, piwheels_url: str | None,
             refresh: bool):
    from depgraph.resolve import ResolveRequest, resolve_requirements

    if refresh and ctx.obj["offline"]:
        raise BadInput("--refresh asks the index again and --offline forbids it", "use one or the other")
    request = ResolveRequest(requirements, python, platform, date, indexes or ("pypi",), pypi_url, piwheels_url)
    with _progress() as update:
        return resolve_requirements(request, offline=ctx.obj["offline"], use_cache=not refresh, progress=update)


def _progress() -> AbstractContextManager[Callable[[str], None] | None]:
    """A spinner on stderr counting resolved packages, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return nullcontext(None)
    from contextlib import contextmanager

    from rich.console import Console

    @contextmanager
    def spinner():
        count = 0
        with Console(stderr=True).status("resolving…") as status:
            def update(message: str) -> None:
                nonlocal count
                count += 1
                status.update(f"resolving… {count} packages ({message})")
            yield update

    return spinner()


@cli.command()
@resolve_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "dot"]), default="table", show_default=True)
@click.pass_context
def resolve(ctx: click.Context, fmt: str, **options: Any) -> None:
    """Resolve REQUIREMENTS as an installer would have, and list what it installs."""
    resolution = _resolve(ctx, **options)
    if fmt == "json":
        click.echo(json.dumps(resolution.to_dict(), indent=2))
    elif fmt == "dot":
        from depgraph.graph import graph_from_resolution
        from depgraph.render.dot import dependency_dot

        click.echo(dependency_dot(graph_from_resolution(resolution)), nl=False)
    else:
        from rich.console import Console

        from depgraph.render.console import resolution_table

        Console().print(resolution_table(resolution))
    for warning in resolution.warnings:
        click.echo(f"depgraph: warning: {warning}", err=True)


@cli.command()
@functools.partial(resolve_options, requirements_required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Write .json (node-link), .dot, .svg, .png, .pdf or .mmd (Mermaid).")
@click.option("--installed", is_flag=True, help="Graph an installed environment instead (through pipdeptree).")
@click.option("--interpreter", type=click.Path(dir_okay=False), help="With --installed: that Python, not this one.")
@click.option("--pipdeptree", "pipdeptree_file", type=click.Path(path_type=Path),
              help="Graph the environment saved by `pipdeptree --json` or `--json-tree` (e.g. from a Raspberry Pi).")
@click.option("--downloads", "with_downloads", is_flag=True,
              help="Label and colour each package by its downloads on --date against its baseline, from the store.")
@db_option
@click.pass_context
def graph(ctx: click.Context, output: Path, installed: bool, interpreter: str | None, pipdeptree_file: Path | None,
          with_downloads: bool, db: Path | None, **options: Any) -> None:
    """Write the dependency graph of REQUIREMENTS (or of an installed environment) to a file."""
    from depgraph.graph import graph_from_resolution, write_node_link
    from depgraph.render.dot import DIAGRAM_SUFFIXES, dependency_dot, write_diagram
    from depgraph.render.mermaid import dependency_mermaid

    if output.suffix.lower() not in (".json", *DIAGRAM_SUFFIXES):
        raise BadInput(f"output {output} has an unknown extension", "use .json, .dot, .svg, .png, .pdf or .mmd")
    if with_downloads and not options["date"]:
        raise BadInput("--downloads needs --date D (the day whose downloads to show)",
                       "e.g. depgraph graph requests==2.23.0 --date 2020-03-05 --downloads -o graph.svg")
    chosen = [bool(options["requirements"]), installed, pipdeptree_file is not None]
    if sum(chosen) != 1:
        raise BadInput("graph needs exactly one of: REQUIREMENTS, --installed, --pipdeptree FILE",
                       "e.g. depgraph graph requests==2.23.0 -o deps.svg")
    if installed or pipdeptree_file:
        from depgraph.installed import graph_from_environment, graph_from_pipdeptree_json

        dependency_graph = (graph_from_pipdeptree_json(pipdeptree_file) if pipdeptree_file
                            else graph_from_environment(interpreter))
    else:
        dependency_graph = graph_from_resolution(_resolve(ctx, **options))
    stats = None
    if with_downloads:
        from depgraph.downloads.store import open_store
        from depgraph.spikes import download_stats

        with open_store(db, read_only=True) as store:
            stats = download_stats(store, _date(options["date"], "--date"), sorted(dependency_graph.nodes))
    if output.suffix.lower() == ".json":
        write_node_link(dependency_graph, output)
    else:
        write_diagram(output, dependency_dot(dependency_graph, stats=stats),
                      dependency_mermaid(dependency_graph, stats=stats))
    click.echo(f"wrote {output} ({dependency_graph.number_of_nodes()} packages, "
               f"{dependency_graph.number_of_edges()} requirements)", err=True)


def _date(value: str | None, option: str) -> Any:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{option} {value!r} is not a date", "use YYYY-MM-DD, e.g. 2020-03-05") from exc


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt",
              type=click.Choice(["auto", "piwheels", "bigquery", "pypistats", "counts", "releases"]),
              default="auto", show_default=True, help="The format (auto: told from the content).")
@click.option("--strict", is_flag=True, help="Refuse a whole file if any row cannot be read.")
@click.option("--source", help="Name of the index the log comes from (default: from the format).")
@db_option
def ingest(files: tuple[Path, ...], fmt: str, strict: bool, source: str | None, db: Path | None) -> None:
    """Ingest download logs (plain or gzip) into the store; a file seen before is skipped.

    Formats: piwheels' downloads table as CSV; BigQuery file_downloads rows as JSON lines, CSV or Parquet;
    pypistats.org API responses (overall, python_major, python_minor, system); date,package,downloads CSV;
    BigQuery distribution_metadata rows (release metadata) as JSON lines, CSV (requires_dist as a JSON array)
    or Parquet.
    """
    from depgraph.downloads.ingest import check_files, ingest_files
    from depgraph.downloads.store import open_store

    check_files(list(files), fmt)  # a missing or unreadable file fails before the store is created or opened
    with open_store(db) as store, _file_progress(len(files)) as update:
        reports = ingest_files(store, list(files), fmt, strict=strict, source=source, progress=update)
    for report in reports:
        if report.skipped:
            click.echo(f"{report.path}: already ingested, skipped", err=True)
            continue
        replaced = f", replacing {report.replaced} earlier daily counts" if report.replaced else ""
        duplicates = f", {report.duplicates} files already stored" if report.duplicates else ""
        click.echo(f"{report.path}: {report.rows} rows ({report.format}), {report.rejected} rejected{replaced}"
                   f"{duplicates}", err=True)
        for example in report.examples:
            click.echo(f"  {example.describe()}", err=True)


def _file_progress(total: int) -> AbstractContextManager[Callable[[Path], None] | None]:
    if not sys.stderr.isatty():
        return nullcontext(None)
    from contextlib import contextmanager

    from rich.progress import Progress

    @contextmanager
    def bar():
        with Progress(transient=True) as progress:
            task = progress.add_task("ingesting", total=total)

            def update(path: Path) -> None:
                progress.update(task, advance=1, description=f"ingesting {path.name}")
            yield update

    return bar()


@cli.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("--from", "start", help="First day (YYYY-MM-DD; default: the store's first).")
@click.option("--to", "end", help="Last day (YYYY-MM-DD; default: the store's last).")
@click.option("--by", type=click.Choice(["day", "hour"]), default="day", show_default=True)
@click.option("--split", type=click.Choice(["python", "arch", "distro", "installer", "version", "os"]))
@click.option("--source", help="Only this index's downloads (piwheels, pypi, ...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@db_option
def downloads(packages: tuple[str, ...], start: str | None, end: str | None, by: str, split: str | None,
              source: str | None, fmt: str, db: Path | None) -> None:
    """Downloads of PACKAGES per day or hour, zero-filled, optionally split by one dimension."""
    from depgraph.downloads.filenames import canonical_list
    from depgraph.downloads.queries import download_counts
    from depgraph.downloads.store import open_store
    from depgraph.spikes import check_days, check_known

    first, last = _date(start, "--from"), _date(end, "--to")
    with open_store(db, read_only=True) as store:
        if first or last:
            check_days(store, first or last, last or first, "--from" if first else "--to")
        for name in canonical_list(list(packages)):
            check_known(store, name)
        table = download_counts(store, list(packages), first, last, by, split, source)
    _emit_rows([row.to_dict() for row in table.rows], fmt, table.to_dict())


@cli.command()
@click.option("--date", "day", required=True, help="The day (YYYY-MM-DD).")
@click.option("-n", "count", type=int, default=10, show_default=True)
@click.option("--source", help="Only this index's downloads.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@db_option
def top(day: str, count: int, source: str | None, fmt: str, db: Path | None) -> None:
    """The most downloaded packages on a day."""
    from depgraph.downloads.queries import top_packages
    from depgraph.downloads.store import open_store
    from depgraph.spikes import check_days

    chosen = _date(day, "--date")
    with open_store(db, read_only=True) as store:
        check_days(store, chosen, chosen)
        rows = [row.to_dict() for row in top_packages(store, chosen, count, source)]
    _emit_rows(rows, fmt, {"rows": rows})


@cli.command()
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the log (default: NAME.csv.gz in the current directory).")
@click.option("--seed", type=int, help="Another seed than the scenario's (same seed, same bytes).")
@click.option("--ingest", "do_ingest", is_flag=True, help="Also ingest the log into the store.")
@db_option
def sample(name: str, output: Path | None, seed: int | None, do_ingest: bool, db: Path | None) -> None:
    """Write a reconstructed corpus (e.g. piwheels-2020q1): calibrated to published figures, not real logs."""
    from depgraph.downloads.corpora import make_sample

    result = make_sample(name, output or Path(f"{name}.csv.gz"), seed, db, do_ingest)
    generation = result.generation
    click.echo(f"wrote {generation.path}: {generation.rows:,} rows, {generation.start} to {generation.end} "
               f"(a reconstruction calibrated to published figures, not real logs)", err=True)
    if result.ingest is not None:
        report = result.ingest
        state = "already ingested, skipped" if report.skipped else f"{report.rows:,} rows ingested"
        click.echo(f"{generation.path}: {state}", err=True)
    if result.releases is not None:
        report = result.releases
        state = "already ingested, skipped" if report.skipped else f"{report.rows:,} release files ingested"
        click.echo(f"{report.path}: {state} (real release metadata recorded from PyPI)", err=True)


@cli.command()
@click.argument("package")
@click.option("--date", "day", required=True, help="The day to investigate (YYYY-MM-DD).")
@click.option("--index", help="Whose downloads to count when the store holds several indexes' logs "
                              "(piwheels, pypi, ...; default: the store's only one, or all together).")
@click.option("--candidates", "candidates", multiple=True, metavar="NAME[,NAME...]",
              help="Also consider these projects' recent releases as causes (read from PyPI; repeatable).")
@click.option("--pypi-url", envvar="DEPGRAPH_PYPI_URL", help="PyPI's Simple API base URL.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--diagram", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the spike's dependency diagram: .dot, .svg, .png, .pdf or .mmd (Mermaid).")
@db_option
@click.pass_context
def explain(ctx: click.Context, package: str, day: str, index: str | None, candidates: tuple[str, ...],
            pypi_url: str | None, fmt: str, diagram: Path | None, db: Path | None) -> None:
    """Why did PACKAGE's downloads jump on a day? Verdict, evidence, and the release that explains it.

    Candidate causes come from the store's release corpus, from the projects depgraph has cached while
    resolving, and from --candidates; a spiking release the corpus does not describe is read from PyPI
    (only from the cache with --offline).
    """
    from depgraph.candidates import CandidateSource
    from depgraph.downloads.store import open_store
    from depgraph.explain import explain as investigate

    if diagram is not None:
        from depgraph.render.dot import check_diagram_path

        check_diagram_path(diagram)  # a bad file name fails before the investigation
    names = _names(candidates, "--candidates")
    source = CandidateSource(names, offline=ctx.obj["offline"], pypi_url=pypi_url)
    with open_store(db, read_only=True) as store:
        data = investigate(store, package, _date(day, "--date"), index=index, candidates=source).to_dict()
    if diagram is not None:
        from depgraph.render.dot import explanation_dot, write_diagram
        from depgraph.render.mermaid import explanation_mermaid

        write_diagram(diagram, explanation_dot(data), explanation_mermaid(data))
        click.echo(f"wrote {diagram}", err=True)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    from depgraph.render.console import explanation_renderables

    console = Console()
    for renderable in explanation_renderables(data):
        console.print(renderable)


def _names(values: tuple[str, ...], option: str) -> tuple[str, ...]:
    """Project names given as repeated and/or comma-separated values, each checked."""
    from depgraph.downloads.filenames import canonical_name

    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for name in names:
        if canonical_name(name) is None:
            raise BadInput(f"{option} {name!r} is not a valid project name", "use e.g. requests or zope-interface")
    return tuple(names)


@cli.command()
@click.option("--date", "day", help="One day (YYYY-MM-DD).")
@click.option("--from", "start", help="First day of a range.")
@click.option("--to", "end", help="Last day of a range.")
@click.option("--index", help="Whose downloads to count (default: the store's only index, or all together).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option
def spikes(day: str | None, start: str | None, end: str | None, index: str | None, fmt: str,
           db: Path | None) -> None:
    """Every package that spiked, its verdict, and the clusters of packages that spiked together."""
    from depgraph.downloads.store import open_store
    from depgraph.spikes import spike_report

    if (day is None) == (start is None and end is None) or (day is None and (start is None or end is None)):
        raise BadInput("give --date D, or --from D --to D", "e.g. depgraph spikes --date 2020-03-05")
    first, last = (_date(day, "--date"),) * 2 if day else (_date(start, "--from"), _date(end, "--to"))
    with open_store(db, read_only=True) as store:
        report = spike_report(store, first, last, index=index)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.console import Console

    from depgraph.render.console import spikes_table

    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not report.rows:
        click.echo(f"no package spiked from {first} to {last}" if first != last else f"no package spiked on {first}",
                   err=True)
        return
    Console().print(spikes_table([row.to_dict() for row in report.rows]))


# render.charts.KINDS, spelled out so that the CLI starts without importing matplotlib
CHART_KINDS = ("daily", "hourly", "top", "cluster", "week", "totals")


@cli.command()
@click.argument("kind", type=click.Choice(CHART_KINDS))
@click.option("--date", "day", required=True, help="The day the chart is about (YYYY-MM-DD).")
@click.option("--from", "start", help="First day shown (default: around --date, by chart).")
@click.option("--to", "end", help="Last day shown (default: around --date, by chart).")
@click.option("--package", "packages", multiple=True, metavar="NAME[,NAME...]",
              help="cluster, week, totals: the packages to follow; top: to highlight (default: the day's "
                   "largest cluster of spiking packages; repeatable).")
@click.option("--compare", help="top, week: the day to compare with (default: the day before the spike began).")
@click.option("-n", "count", type=click.IntRange(min=1),
              help="top: how many packages (default 10); week: how many popular packages (default 4).")
@click.option("--index", help="Whose downloads to count (default: the store's only index, or all together).")
@click.option("--note", help="The footnote (default: the data source, read from the store; '' for none).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.svg or FILE.png.")
@db_option
def chart(kind: str, day: str, start: str | None, end: str | None, packages: tuple[str, ...], compare: str | None,
          count: int | None, index: str | None, note: str | None, output: Path, db: Path | None) -> None:
    """Draw one of a spike's charts from the store: KIND is daily (downloads per day, spike days marked), hourly
    (per hour), top (the top N of two days, same scale), cluster (the spiking packages day by day), week
    (spiking vs most popular) or totals (the index with and without the spiking packages)."""
    from depgraph.downloads.store import open_store
    from depgraph.render.charts import write_chart
    from depgraph.spikes import download_source

    if output.suffix.lower() not in (".svg", ".png"):
        raise BadInput(f"output {output} has an unknown extension", "use .svg or .png")
    with open_store(db, read_only=True) as store:
        write_chart(kind, store, output, day=_date(day, "--date"), start=_date(start, "--from"),
                    end=_date(end, "--to"), packages=_names(packages, "--package"),
                    compare=_date(compare, "--compare"), n=count, source=download_source(store, index), note=note)
    click.echo(f"wrote {output}", err=True)


@cli.command()
@click.option("--date", "day", required=True, help="The day to report on (YYYY-MM-DD).")
@click.option("--package", help="The package to investigate (default: the one with the largest excess that day).")
@click.option("--index", help="Whose downloads to count (default: the store's only index, or all together).")
@click.option("--candidates", "candidates", multiple=True, metavar="NAME[,NAME...]",
              help="Also consider these projects' recent releases as causes (read from PyPI; repeatable).")
@click.option("--pypi-url", envvar="DEPGRAPH_PYPI_URL", help="PyPI's Simple API base URL.")
@click.option("--note", help="The data-source note (default: read from the store).")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The report's directory: index.html, report.md and images/ (replaced if there).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@click.pass_context
def report(ctx: click.Context, day: str, package: str | None, index: str | None, candidates: tuple[str, ...],
           pypi_url: str | None, note: str | None, out_dir: Path, fmt: str, db: Path | None) -> None:
    """Write the report of a day's spike: index.html (self-contained) and report.md with its pictures: the
    verdict, the numbers, six charts and the dependency diagram, the suspects, the index that served them."""
    from depgraph.candidates import CandidateSource
    from depgraph.downloads.store import open_store
    from depgraph.render.report import write_report

    source = CandidateSource(_names(candidates, "--candidates"), offline=ctx.obj["offline"], pypi_url=pypi_url)
    with open_store(db, read_only=True) as store:
        result = write_report(store, _date(day, "--date"), out_dir, package=package, note=note, index=index,
                              candidates=source)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    found = f"{result.package}: {result.verdict}" if result.package else f"no package spiked on {result.day}"
    click.echo(f"wrote {result.out_dir / 'index.html'} and {result.out_dir / 'report.md'} "
               f"({len(result.pictures)} pictures; {found})", err=True)


@cli.group()
def bigquery() -> None:
    """PyPI's downloads in BigQuery's public dataset, counted with the same definition as depgraph's ingest."""


def _package_names(values: tuple[str, ...]) -> list[str] | None:
    names = [name for value in values for name in value.replace(",", " ").split()]
    return list(_names(tuple(names), "--packages")) or None


@bigquery.command("sql")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD, UTC).")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD, UTC), included.")
@click.option("--packages", multiple=True, help="Only these packages (repeat the option, or separate with commas).")
@click.option("--by", type=click.Choice(["day", "hour"]), default="day", show_default=True)
def bigquery_sql_command(start: str, end: str, packages: tuple[str, ...], by: str) -> None:
    """Print the BigQuery SQL that counts PyPI's downloads per day, package, version, Python, OS, arch, installer."""
    from depgraph.downloads.bigquery import bigquery_sql

    click.echo(bigquery_sql(_date(start, "--from"), _date(end, "--to"), _package_names(packages), by=by))


@bigquery.command("fetch")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD, UTC).")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD, UTC), included.")
@click.option("--packages", multiple=True, help="Only these packages (repeat the option, or separate with commas).")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Refuse a query that would read more (default 20 GB); "
              "BigQuery bills no more than this.")
@click.option("--project", envvar="GOOGLE_CLOUD_PROJECT", help="The Google Cloud project the query is billed to.")
@click.option("--yes", is_flag=True, help="Run after printing the estimate, without asking.")
@db_option
def bigquery_fetch(start: str, end: str, packages: tuple[str, ...], max_bytes: int | None, project: str | None,
                   yes: bool, db: Path | None) -> None:
    """Run that query on BigQuery (dry run and estimate first) and store its daily counts."""
    from depgraph.downloads.bigquery import DEFAULT_MAX_BYTES, Estimate, fetch
    from depgraph.downloads.store import open_store

    def confirm(estimate: Estimate) -> bool:
        click.echo(f"BigQuery: {estimate.describe()}", err=True)
        return yes or click.confirm("run the query?", err=True)

    first, last = _date(start, "--from"), _date(end, "--to")
    names = _package_names(packages)
    with open_store(db) as store:
        result = fetch(store, first, last, names, max_bytes=max_bytes or DEFAULT_MAX_BYTES,
                       project=project, confirm=confirm)
    if not result.ran or result.report is None:
        click.echo("not run: nothing was stored", err=True)
        return
    report = result.report
    state = ("already stored, skipped" if report.skipped else
             f"{report.rows:,} daily counts stored, {report.rejected} rejected")
    click.echo(f"{result.rows:,} rows from BigQuery: {state}", err=True)


def _emit_rows(rows: list[dict[str, Any]], fmt: str, document: dict[str, Any]) -> None:
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    elif fmt == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["package", "period", "downloads"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich.console import Console

        from depgraph.render.console import rows_table

        Console().print(rows_table(rows))


def main() -> None:
    cli(prog_name="depgraph")
