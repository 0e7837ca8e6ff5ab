"""depgraph: dependency-graph investigation for Python package indexes."""

__version__ = "0.1.0"
