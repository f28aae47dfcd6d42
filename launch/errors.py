"""The one error type of the launcher's bad-input checks."""


class LaunchError(Exception):
  """Bad input (sweep, root, executor): the CLIs print its one-line message and exit 2."""
