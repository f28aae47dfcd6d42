"""The one exception type the data pipeline raises for bad input."""


class DataError(ValueError):
  """Bad data input; the message is one line naming the bad value or file and what was expected."""
