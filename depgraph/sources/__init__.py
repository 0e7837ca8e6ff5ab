"""Where package metadata comes from: HTTP with a cache, PyPI's and piwheels' APIs, archives."""
