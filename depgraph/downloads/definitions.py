"""What depgraph counts, written once in BigQuery's SQL and transpiled by sqlglot for each engine.

Two definitions live here, each a piece of BigQuery SQL read once by sqlglot and written out for BigQuery (the
``depgraph bigquery`` commands, against PyPI's public dataset) or for DuckDB (the store):

- how a row of ``file_downloads`` becomes the store's columns (``FIELDS``) and the store's counts by day or hour,
  package, version, Python, platform and installer (``counts_query``). The local reader of BigQuery exports
  computes its columns from the same ``FIELDS``, so a download counts the same way on both engines;
- which releases of ``distribution_metadata`` require any of a set of packages, with a file uploaded in a window
  (``releases_query``), which ``depgraph.downloads.releases.releases_requiring`` runs over the store's corpus.

Column paths in the SQL are those of the public tables (``FILE_DOWNLOADS_COLUMNS``,
``DISTRIBUTION_METADATA_COLUMNS``); a ``binding`` maps them to another relation's columns when the rows come from
somewhere else (an export read by DuckDB). sqlglot is imported only when a query is transpiled, and a query the
store runs is transpiled once per installed sqlglot and kept on disk (``transpiled``): importing sqlglot and
transpiling cost 0.2 s, a fifth of an ``explain``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

FILE_DOWNLOADS = "bigquery-public-data.pypi.file_downloads"
DISTRIBUTION_METADATA = "bigquery-public-data.pypi.distribution_metadata"

# The public tables' columns (leaf paths of the nested rows) and their BigQuery types, as documented (linehaul's
# schema and the copies of the table described in the docs; see shared/reference/data-formats.md, section 2).
FILE_DOWNLOADS_COLUMNS: dict[str, str] = {
    "timestamp": "TIMESTAMP", "country_code": "STRING", "url": "STRING", "project": "STRING",
    "file.filename": "STRING", "file.project": "STRING", "file.version": "STRING", "file.type": "STRING",
    "details.installer.name": "STRING", "details.installer.version": "STRING", "details.python": "STRING",
    "details.implementation.name": "STRING", "details.implementation.version": "STRING",
    "details.distro.name": "STRING", "details.distro.version": "STRING", "details.distro.id": "STRING",
    "details.distro.libc.lib": "STRING", "details.distro.libc.version": "STRING",
    "details.system.name": "STRING", "details.system.release": "STRING", "details.cpu": "STRING",
    "details.openssl_version": "STRING", "details.setuptools_version": "STRING",
    "details.rustc_version": "STRING", "details.ci": "BOOLEAN", "tls_protocol": "STRING", "tls_cipher": "STRING",
}
DISTRIBUTION_METADATA_COLUMNS: dict[str, str] = {
    "metadata_version": "STRING", "name": "STRING", "version": "STRING", "summary": "STRING",
    "description": "STRING", "description_content_type": "STRING", "author": "STRING", "author_email": "STRING",
    "maintainer": "STRING", "maintainer_email": "STRING", "license": "STRING", "license_expression": "STRING",
    "license_files": "ARRAY<STRING>", "keywords": "STRING", "classifiers": "ARRAY<STRING>",
    "platform": "ARRAY<STRING>", "home_page": "STRING", "download_url": "STRING", "requires_python": "STRING",
    "requires": "ARRAY<STRING>", "provides": "ARRAY<STRING>", "obsoletes": "ARRAY<STRING>",
    "requires_dist": "ARRAY<STRING>", "provides_dist": "ARRAY<STRING>", "obsoletes_dist": "ARRAY<STRING>",
    "requires_external": "ARRAY<STRING>", "project_urls": "ARRAY<STRING>", "uploaded_via": "STRING",
    "upload_time": "TIMESTAMP", "filename": "STRING", "size": "INT64", "path": "STRING",
    "python_version": "STRING", "packagetype": "STRING", "comment_text": "STRING", "has_signature": "BOOLEAN",
    "md5_digest": "STRING", "sha256_digest": "STRING", "blake2_256_digest": "STRING",
}

# --- one row of file_downloads: the store's columns -------------------------------------------------------------

# Each of the store's columns as BigQuery SQL over the row's own columns; ``@name`` stands for another field.
FIELDS: dict[str, str] = {
    "ts": "timestamp",
    "project": "file.project",
    # the PEP 503 form of the name (packaging's canonicalize_name: runs of -_. become -, lowercase)
    "package": r"LOWER(REGEXP_REPLACE(TRIM(@project), r'[-_.]+', '-'))",
    "version": "NULLIF(file.version, '')",
    "file_kind": ("CASE WHEN COALESCE(file.type, '') = '' THEN NULL WHEN file.type = 'bdist_wheel' THEN 'wheel' "
                  "WHEN file.type = 'sdist' THEN 'sdist' ELSE 'other' END"),
    "filename": "NULLIF(file.filename, '')",
    # the interpreter's version: what pip reports as python, else the implementation's (PyPy reports both)
    "python_full": "COALESCE(NULLIF(details.python, ''), NULLIF(details.implementation.version, ''))",
    "python": r"REGEXP_EXTRACT(@python_full, r'^(\d+\.\d+)')",  # major.minor, e.g. 2.7
    "implementation": "NULLIF(details.implementation.name, '')",
    "arch": "NULLIF(details.cpu, '')",
    "os": "NULLIF(details.system.name, '')",
    "distro": "NULLIF(details.distro.name, '')",
    "distro_version": "NULLIF(details.distro.version, '')",
    "installer": "NULLIF(details.installer.name, '')",
    "installer_version": "NULLIF(details.installer.version, '')",
}
# a row the store keeps: its package is a valid PEP 503 name (the store refuses the others)
VALID_PACKAGE = r"REGEXP_CONTAINS(@package, r'^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$')"
# the columns download_counts splits a day's downloads by, besides the package
COUNT_DIMENSIONS = ("version", "python", "os", "arch", "installer")
PERIODS = {"day": "DATE(timestamp)", "hour": "TIMESTAMP_TRUNC(timestamp, HOUR)"}

# the leading name token of a requirement string, in its PEP 503 form: the SQL twin of
# depgraph.sources.names.LEADING_NAME followed by canonicalize_name (one capturing group, as BigQuery requires)
LEADING_NAME = (r"LOWER(REGEXP_REPLACE(REGEXP_EXTRACT(@requirement, "
                r"r'^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)'), r'[-_.]+', '-'))")

Binding = Callable[[tuple[str, ...]], "exp.Expression"]


def expand(sql: str, fields: dict[str, str] = FIELDS) -> str:
    """``sql`` with every ``@name`` replaced by that field's SQL, recursively (parenthesised)."""
    return re.sub(r"@(\w+)", lambda match: f"({expand(fields[match.group(1)], fields)})", sql)


def parse(sql: str, binding: Binding | None = None) -> exp.Expression:
    """BigQuery SQL as a sqlglot tree; ``binding`` replaces each column path it is given (a tuple of names)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="bigquery")
    for paren in list(tree.find_all(exp.Paren)):
        _unwrap(paren)
    if binding is None:
        return tree
    return tree.transform(lambda node: binding(tuple(part.name for part in node.parts))
                          if isinstance(node, exp.Column) else node)


def _unwrap(paren: exp.Paren) -> None:
    """Drop the parentheses ``expand`` put around a field that is one call, column or CASE (which need none)."""
    from sqlglot import exp

    if isinstance(paren.this, (exp.Func, exp.Column, exp.Case)):
        paren.replace(paren.this)


def field_sql(name: str, dialect: str, binding: Binding | None = None) -> str:
    """One of ``FIELDS`` in ``dialect``, over the columns ``binding`` gives (the table's own without one)."""
    return parse(expand(FIELDS[name]), binding).sql(dialect)


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values)


def _utc_literal(moment: datetime) -> str:
    return f"TIMESTAMP('{moment.strftime('%Y-%m-%d %H:%M:%S')}+00')"


def counts_query(start: date, end: date, packages: list[str] | None = None, *, by: str = "day",
                 dimensions: tuple[str, ...] = COUNT_DIMENSIONS, table: str = FILE_DOWNLOADS) -> exp.Expression:
    """Downloads per ``by`` (day or hour, UTC), package and ``dimensions`` from ``start`` to ``end`` (both days
    included), as a sqlglot tree; only the PEP 503 names in ``packages`` when given.

    The window is a constant range on ``timestamp``, the column the public table is partitioned by, so BigQuery
    reads only those days; the package filter is on ``file.project`` itself (PEP 503 names as linehaul logs them).
    """
    columns = [f"{PERIODS[by]} AS {by}", "@package AS package", *(f"@{name} AS {name}" for name in dimensions),
               "COUNT(*) AS downloads"]
    first, after = datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())
    conditions = [f"timestamp >= {_utc_literal(first)}", f"timestamp < {_utc_literal(after)}", VALID_PACKAGE]
    if packages:
        conditions.append(f"file.project IN ({_quoted(packages)})")
    groups = ", ".join(str(i) for i in range(1, len(columns)))
    return parse(expand(f"SELECT {', '.join(columns)} FROM `{table}` WHERE {' AND '.join(conditions)} "
                        f"GROUP BY {groups} ORDER BY {groups}"))


# --- distribution_metadata: the releases that require a set of packages ----------------------------------------

RELEASE_COLUMNS = ("name", "version", "upload_time", "requires_dist", "requires_python", "packagetype", "filename")


def releases_query(packages: str, *, table: str = f"`{DISTRIBUTION_METADATA}`", start: str = "@start",
                   end: str = "@end") -> exp.Expression:
    """``releases_sql`` as a sqlglot tree."""
    return parse(releases_sql(packages, table=table, start=start, end=end))


def releases_sql(packages: str, *, table: str = f"`{DISTRIBUTION_METADATA}`", start: str = "@start",
                 end: str = "@end") -> str:
    """Every file of the releases that have a file uploaded in [start, end) and a file whose ``requires_dist``
    names (by its leading token, in PEP 503 form) one of ``packages``, in BigQuery's SQL.

    All of a release's files come back, so that its first upload and the union of its requirements can be told
    (a release whose first file predates the window is not first uploaded in it). ``packages`` (an array of PEP
    503 names), ``start`` and ``end`` are SQL: literals, or parameters the caller binds; ``table`` a quoted table
    name or a parenthesised query. The leading token narrows; parsing each string found with ``packaging``
    (``releases_requiring`` does) decides.
    """
    sql = f"""
        WITH windowed AS (
            SELECT DISTINCT w.name, w.version FROM {table} AS w
            WHERE w.upload_time >= {start} AND w.upload_time < {end}),
        requiring AS (
            SELECT DISTINCT d.name, d.version FROM {table} AS d
            JOIN windowed AS c ON c.name = d.name AND c.version = d.version
            WHERE EXISTS (SELECT 1 FROM UNNEST(d.requires_dist) AS requirement
                          WHERE {leading_name("requirement")} IN UNNEST({packages})))
        SELECT {', '.join(f'f.{column}' for column in RELEASE_COLUMNS)}
        FROM {table} AS f JOIN requiring AS m ON m.name = f.name AND m.version = f.version"""
    return sql


def leading_name(requirement: str) -> str:
    """BigQuery SQL for the leading name of the requirement string ``requirement`` (SQL), in PEP 503 form."""
    return expand(LEADING_NAME, {"requirement": requirement})


def array_literal(values: list[str]) -> str:
    return f"[{_quoted(values)}]"


def bigquery_window(start: datetime, end: datetime) -> tuple[str, str]:
    """[start, end) as BigQuery TIMESTAMP literals (naive datetimes are UTC)."""
    return _utc_literal(start), _utc_literal(end)


def transpiled(bigquery_sql: str, dialect: str) -> str:
    """``bigquery_sql`` (with ``@field`` references expanded) written for ``dialect``: transpiled by sqlglot the
    first time, then read from depgraph's cache, keyed by the SQL, the dialect and the installed sqlglot."""
    from depgraph.sources.paths import cache_dir, keep

    spec = importlib.util.find_spec("sqlglot")
    installed = (spec.origin, os.stat(spec.origin).st_mtime_ns) if spec and spec.origin else None
    key = hashlib.sha256(json.dumps([bigquery_sql, dialect, installed]).encode()).hexdigest()[:32]
    path = cache_dir() / "sql" / f"{key}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    text = parse(bigquery_sql).sql(dialect)
    keep(path, text)
    return text
