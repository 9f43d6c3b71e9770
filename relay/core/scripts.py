"""The Lua scripts in relay/core/lua/, with their shared library inlined.

A script may start with `-- use: NAME` lines: each inlines `lua/lib/NAME.lua` (functions shared
by several scripts, such as the one debounce rule) in front of the script's own body. Redis
then sees one self-contained script per name, loaded once and run by its SHA.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_USE = re.compile(r"^-- use: ([a-z_]+)$", re.M)


def _read(*parts: str) -> str:
    return resources.files("relay.core").joinpath("lua", *parts).read_text(encoding="utf-8")


@cache
def lua(name: str) -> str:
    """The full text of script `name` (relay.core.keys.SCRIPT_*)."""
    body = _read(f"{name}.lua")
    libraries = [_read("lib", f"{lib}.lua") for lib in _USE.findall(body)]
    return "\n".join([*libraries, body])
