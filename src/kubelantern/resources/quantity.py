"""Kubernetes resource quantities ("100m", "128Mi", "1k", "2e3") as numbers and back.

Requests and capacities arrive as strings in Kubernetes' own notation; summing
pod requests against node allocatable needs them as numbers, and people want
them back in the notation they know (cores and millicores, Mi/Gi).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse_quantity(value: Any) -> Decimal:
    """The value of a quantity in base units (cores, bytes); 0 for junk, never an error.

    A detail page must render even when an object carries a quantity we do not
    understand, so bad input counts as zero instead of raising.
    """
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = str(value or "").strip()
    if not text:
        return Decimal(0)
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return _number(text[: -len(suffix)]) * factor
    if text[-1] in _DECIMAL:
        return _number(text[:-1]) * _DECIMAL[text[-1]]
    return _number(text)


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def format_cpu(cores: Decimal) -> str:
    """Cores as kubectl describe prints them: whole cores as ``4``, else ``1300m``."""
    if cores == cores.to_integral_value():
        return f"{int(cores)}"
    return f"{int((cores * 1000).to_integral_value())}m"


def format_bytes(count: Decimal) -> str:
    """Bytes in the largest binary unit that keeps one decimal: ``1.5Gi``, ``128Mi``."""
    value = float(count)
    for unit in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        size = _BINARY[unit]
        if value >= size:
            scaled = value / size
            text = f"{scaled:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return f"{int(value)}"


def format_quantity(name: str, value: Decimal) -> str:
    """A resource amount in the unit people expect for that resource name."""
    if name == "cpu":
        return format_cpu(value)
    if name in ("memory", "ephemeral-storage", "storage") or name.startswith("hugepages-"):
        return format_bytes(value)
    return f"{value.normalize():f}"
