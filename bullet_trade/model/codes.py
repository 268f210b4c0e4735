"""Security codes: JoinQuant form (``000001.XSHE``) and QMT form (``000001.SZ``).

One parsed value, :class:`Security`, is used everywhere inside the system; the two text forms
exist only at the edges. Parsing is strict: six digits and a known exchange suffix, in either
convention, case-insensitive. Anything else raises :class:`~bullet_trade.errors.BadRequest`
naming the field.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bullet_trade.errors import BadRequest


class Exchange(str, enum.Enum):
    """Exchange, valued by its QMT suffix."""

    SH = "SH"
    SZ = "SZ"
    BJ = "BJ"

    @property
    def jq_suffix(self) -> str:
        return _JQ_SUFFIX[self]


_JQ_SUFFIX = {Exchange.SH: "XSHG", Exchange.SZ: "XSHE", Exchange.BJ: "BJSE"}

_SUFFIXES: dict[str, Exchange] = {
    "XSHG": Exchange.SH,
    "SH": Exchange.SH,
    "SSE": Exchange.SH,
    "XSHE": Exchange.SZ,
    "SZ": Exchange.SZ,
    "SZSE": Exchange.SZ,
    "BJ": Exchange.BJ,
    "BJSE": Exchange.BJ,
    "BSE": Exchange.BJ,
}

_CODE_RE = re.compile(r"^(\d{6})\.([A-Za-z]{2,4})$")


@dataclass(frozen=True, slots=True, order=True)
class Security:
    """A listed instrument: six-digit symbol plus exchange."""

    symbol: str
    exchange: Exchange

    @property
    def jq(self) -> str:
        """JoinQuant code, e.g. ``000001.XSHE``."""
        return f"{self.symbol}.{self.exchange.jq_suffix}"

    @property
    def qmt(self) -> str:
        """QMT (xtquant) code, e.g. ``000001.SZ``."""
        return f"{self.symbol}.{self.exchange.value}"

    def __str__(self) -> str:
        return self.jq


def parse_security(value: object, field: str = "security") -> Security:
    """Parse a JoinQuant or QMT code.

    Raises:
        BadRequest: ``value`` is not a string of the form ``NNNNNN.SUFFIX`` with a known suffix.
    """
    if isinstance(value, Security):
        return value
    if not isinstance(value, str):
        raise BadRequest(
            f"{field} must be a security code string, got {type(value).__name__}", field=field
        )
    match = _CODE_RE.match(value.strip())
    if match is None:
        raise BadRequest(
            f"{field} {value!r} is not a security code like 000001.XSHE or 600000.SH",
            field=field,
        )
    exchange = _SUFFIXES.get(match.group(2).upper())
    if exchange is None:
        raise BadRequest(f"{field} {value!r} has an unknown exchange suffix", field=field)
    return Security(match.group(1), exchange)


def to_jq(value: str) -> str:
    """Normalise a code to the JoinQuant form (raises BadRequest on invalid input)."""
    return parse_security(value).jq


def to_qmt(value: str) -> str:
    """Normalise a code to the QMT form (raises BadRequest on invalid input)."""
    return parse_security(value).qmt
