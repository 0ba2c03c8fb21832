"""YAML text as ``kubectl get -o yaml`` and ``kubectl edit`` show it.

Multi-line strings (a ConfigMap's script, a certificate, a ``|`` block a person
wrote) come out as literal blocks instead of one quoted line full of ``\\n``,
so what someone wrote as a block stays a block when the editor shows it again
and the diff after an edit shows changed lines, not one changed line.

The emitter still falls back to quoting where a block cannot hold the text
exactly (trailing spaces on a line, some control characters), as kubectl's
emitter does; the values are the same either way. Key order stays the API
server's, and libyaml's C emitter is used when present (large objects).
"""

from __future__ import annotations

from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class BlockDumper(_Base):  # type: ignore[misc]
    """SafeDumper (C speed when available) that writes multi-line strings as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


BlockDumper.add_representer(str, _represent_str)


def dump(obj: Any) -> str:
    """Block-style YAML in the object's own key order, multi-line strings as blocks."""
    return str(
        yaml.dump(
            obj, Dumper=BlockDumper, sort_keys=False, default_flow_style=False, allow_unicode=True
        )
    )
