"""Text shown to people the same way by every command: durations and tables."""

import html
import math
from collections.abc import Collection, Sequence


def duration(seconds: float) -> str:
  """1h05m, 3m07s: wall times and ETAs as people read them; '?' when unknown (infinite or NaN)."""
  if not math.isfinite(seconds):
    return "?"
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def columns(rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
  """Text columns two spaces apart, those in `right` right-aligned; the last holds free text (unpadded)."""
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
  return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths))) + "  " + row[-1]
                   for row in rows)


def markdown(rows: Sequence[Sequence[object]]) -> str:
  """A Markdown table whose first row is the header; '' for no rows."""
  if not rows:
    return ""
  lines = ["| " + " | ".join(map(str, rows[0])) + " |", "|" + " --- |" * len(rows[0])]
  return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows[1:]]) + "\n"


def html_table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
  """An HTML table, cells escaped."""
  cells = lambda tag, row: "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)
  body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
  return f"<table><tr>{cells('th', header)}</tr>{body}</table>"
