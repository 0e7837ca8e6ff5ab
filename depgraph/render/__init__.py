"""Turn results into things people read: rich console tables, JSON, DOT/SVG/PNG, Mermaid, charts, reports."""
