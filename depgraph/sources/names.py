"""The leading project name of a requirement string, for strings ``packaging`` cannot parse.

Legacy metadata holds requirements such as ``pytz (>dev)``: pip's old parser still read their name, and so do
the metadata readers and the release queries. A module of its own so that the release queries need not import
the HTTP stack.
"""

from __future__ import annotations

import re

LEADING_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
