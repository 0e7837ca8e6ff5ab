"""Which index served what: pip's choice between PyPI and piwheels for each changed requirement, and the share of
clients that must have had piwheels as their primary index to explain the counts piwheels saw.

pip pools the candidates of every configured index and keeps the best file of the chosen version: a wheel
over an sdist, a more specific tag over a less specific one, and on a full tie the index listed first. Under
Raspberry Pi OS's default (PyPI as index, piwheels as extra) a release that PyPI offers only as an sdist is
fetched from piwheels' wheel, while a universal wheel present on both comes from PyPI; a client with piwheels
as its only index takes everything from piwheels.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

from depgraph.environment import TargetEnvironment
from depgraph.resolve import best_file
from depgraph.sources.simple import ReleaseFile

DEFAULT_ORDER = ("pypi", "piwheels")
PRIMARY_ORDER = ("piwheels",)
TOLERANCE = 0.25  # how far an observed count may sit from the model's before we say it is not explained


def expected_index(files: list[ReleaseFile], version: str, target: TargetEnvironment,
                   order: tuple[str, ...]) -> str | None:
    """The index pip would fetch ``version`` from, with indexes in ``order``; None when none offers a usable file."""
    usable = [f for index in order for f in files if f.index == index and str(f.version) == version and
              (f.kind == "sdist" or any(t in target.supported_tags for t in f.tags))]
    return best_file(usable, target).index if usable else None


@dataclass(frozen=True)
class PackageIndex:
    package: str
    version: str
    expected_index_default: str | None
    expected_index_primary: str | None
    observed: int
    predicted: float | None
    explained: bool

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version,
                "expected_index_default": self.expected_index_default,
                "expected_index_primary": self.expected_index_primary, "observed": self.observed,
                "predicted": None if self.predicted is None else round(self.predicted, 1),
                "explained": self.explained}


@dataclass(frozen=True)
class ExplicitIndex:
    likely: bool
    reason: str
    primary_share: float | None
    clients: float | None
    per_package: tuple[PackageIndex, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"likely": self.likely, "reason": self.reason,
                "primary_share": None if self.primary_share is None else round(self.primary_share, 4),
                "clients": None if self.clients is None else round(self.clients, 1),
                "per_package": [p.to_dict() for p in self.per_package]}


def explain_index_mix(observed: dict[str, tuple[str, int]], files: dict[str, list[ReleaseFile]],
                      target: TargetEnvironment, observed_index: str = "piwheels") -> ExplicitIndex:
    """Explain ``observed`` (package -> (version, excess downloads seen on ``observed_index``)) as upgrading
    clients of two kinds: default configuration, and ``observed_index`` as primary index."""
    routes = {p: (expected_index(files.get(p, []), v, target, DEFAULT_ORDER),
                  expected_index(files.get(p, []), v, target, PRIMARY_ORDER)) for p, (v, _) in observed.items()}
    always = [observed[p][1] for p, (default, _) in routes.items() if default == observed_index]
    sometimes = [observed[p][1] for p, (default, primary) in routes.items()
                 if default != observed_index and primary == observed_index]
    if not always or not sometimes:
        return _unexplained(observed, routes, "the counts need packages of both kinds (fetched from "
                            f"{observed_index} by every client, and only by those using it as primary index)")
    clients = median(always)
    share = median(sometimes) / clients
    rows = []
    for package, (version, count) in sorted(observed.items()):
        default, primary = routes[package]
        predicted = clients if default == observed_index else clients * share if primary == observed_index else 0.0
        explained = abs(count - predicted) <= TOLERANCE * max(predicted, 1.0)
        rows.append(PackageIndex(package, version, default, primary, count, predicted, explained))
    likely = 0.0 < share < 1.0 and all(r.explained for r in rows)
    reason = (f"about {clients:,.0f} upgrading clients: all fetch what only {observed_index} has as a wheel; "
              f"{share:.0%} of them also fetch what both indexes offer alike, so they use {observed_index} as "
              "their primary index" if likely else
              "the counts do not fit a mix of default and primary-index clients: "
              + ", ".join(f"{r.package} saw {r.observed}, the model says {r.predicted:.0f}" for r in rows
                          if not r.explained))
    return ExplicitIndex(likely, reason, share, clients, tuple(rows))


def _unexplained(observed: dict[str, tuple[str, int]], routes: dict[str, tuple[str | None, str | None]],
                 reason: str) -> ExplicitIndex:
    rows = tuple(PackageIndex(p, v, routes[p][0], routes[p][1], c, None, False)
                 for p, (v, c) in sorted(observed.items()))
    return ExplicitIndex(False, f"cannot estimate: {reason}", None, None, rows)
