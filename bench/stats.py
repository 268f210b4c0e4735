"""Small statistics and formatting helpers shared by the figure modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    """Seconds as a compact millisecond figure."""
    if math.isnan(seconds):
        return "n/a"
    value = seconds * 1000.0
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def ratio(ours: float, other: float) -> str:
    """``ours / other`` as ``0.42×`` (``n/a`` when either side is missing)."""
    if math.isnan(ours) or math.isnan(other) or other == 0:
        return "n/a"
    return f"{ours / other:.2f}×"


def mib(n_bytes: float) -> str:
    return "n/a" if math.isnan(n_bytes) else f"{n_bytes / 2**20:.0f} MiB"


@dataclass(slots=True)
class Row:
    """One line of the result table.

    Attributes:
        figure: the figure group (``small requests``, ``orders``...).
        metric: what was measured.
        ours / published / ceiling: formatted values (``""`` when not measured).
        ratio: ours relative to the reference of this row.
        target: the target, in words (``""`` when the row has none).
        verdict: ``met`` / ``MISSED`` / ``""``.
    """

    figure: str
    metric: str
    ours: str = ""
    published: str = ""
    ceiling: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


@dataclass(slots=True)
class Report:
    """Rows plus free-text notes collected by a figure."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def extend(self, other: Report) -> None:
        self.rows.extend(other.rows)
        self.notes.extend(other.notes)


def verdict(met: bool | None) -> str:
    if met is None:
        return ""
    return "met" if met else "MISSED"


def markdown(report: Report) -> str:
    """The report as a Markdown table followed by the notes."""
    header = "| figure | metric | ours | published | bare asyncio | ratio | target | verdict |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for r in report.rows:
        cells = [r.figure, r.metric, r.ours, r.published, r.ceiling, r.ratio, r.target, r.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    if report.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in report.notes)
    return "\n".join(lines)
