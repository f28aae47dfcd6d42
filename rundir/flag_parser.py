"""Flag parsing shared by every command: a bad flag is bad input (exit 2, one line), not an absl FATAL."""

import sys

from absl import flags


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flags_parser for app.run: one `error:` line and exit 2 on an unknown or malformed flag; exit 0
  after --help (absl exits 1 after printing it, which README's exit codes call a real failure)."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    print(f"error: {e}: expected the flags of {argv[0]} --helpshort", file=sys.stderr)
    sys.exit(2)
  except SystemExit as e:  # only absl's --help, --helpshort, --helpfull and --helpxml exit 1 here
    sys.exit(0 if e.code == 1 else e.code)
