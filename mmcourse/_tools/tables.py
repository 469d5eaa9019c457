"""Plain-text tables for the command line."""

from __future__ import annotations


def print_table(rows: list[dict], columns: list[str], max_width: int = 48) -> None:
    """A plain-text table with a header; cells wider than ``max_width`` are cut with "..."."""
    def cell(value: object) -> str:
        text = str(value)
        return text if len(text) <= max_width else text[: max_width - 3] + "..."

    widths = {c: max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(cell(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())
