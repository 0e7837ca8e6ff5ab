"""One reader per log format (``piwheels``, ``bigquery``, ``pypistats``, ``counts``, ``releases``), with what they
share: sniffing a file's format (``sniff``) and scanning it inside DuckDB (``scan``)."""
