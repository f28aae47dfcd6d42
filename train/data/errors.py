"""The one exception type the data pipeline raises for bad input, and the check it shares."""


class DataError(ValueError):
  """Bad data input; the message is one line naming the bad value or file and what was expected."""


class ShardError(DataError):
  """A data file that cannot be read (truncated, not gzip, gone): bad input, found at any step; a retry
  reads the same bytes."""


def require_int(name: str, value: object, minimum: int) -> None:
  """Raises a DataError naming `name` unless `value` is an integer (not a bool) >= minimum."""
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise DataError(f"{name}={value!r} is invalid; expected an integer >= {minimum}")
