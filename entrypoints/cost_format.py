"""How sizes, durations and dollars are written in the plan, the summary and `batchml runs`."""

from __future__ import annotations


def size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:,.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:,}h {minutes:02d}m"


def dollars(amount: float) -> str:
    if amount == 0:
        return "$0"
    if amount < 0.01:
        return "< $0.01"
    return f"${amount:,.2f}"


def about(amount: float) -> str:
    """An estimate: "~$1.23", or "< $0.01"."""
    text = dollars(amount)
    return text if text.startswith("<") else "~" + text


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}es" if noun.endswith("ch") else f"{n:,} {noun}s"


def count(n: float) -> str:
    return f"{n:,.0f}" if n else "-"
