"""Short number formats for tables, labels and JSON: '3e-4' learning rates, '2.4M' parameter counts."""

import math


def sci(value: float | None) -> str:
  """3e-4, 1e-1, 3.16e-2, 1e4: the paper's way of writing learning rates and thresholds."""
  if value is None:
    return "-"
  mantissa, exponent = f"{value:.2e}".split("e")
  return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def count(value: float | None) -> str:
  """2.4M, 151M, 1.2B: the paper's way of writing parameter counts."""
  if value is None:
    return "-"
  for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
    if abs(value) >= size:
      return f"{value / size:.3g}{unit}"
  return f"{value:.3g}"


def number(value: float | None, digits: int = 4) -> str:
  """A loss or a logit: fixed digits, 'nan'/'inf' spelled out, '-' when absent."""
  if value is None:
    return "-"
  if not math.isfinite(value):
    return str(value)
  return f"{value:.{digits}g}"


def json_float(value: float | None) -> float | None:
  """A float that strict JSON can hold: NaN and inf become null."""
  return value if value is not None and math.isfinite(value) else None
