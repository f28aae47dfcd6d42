"""Run-directory facts shared by train/ and launch/ (stdlib only: launch must not import train)."""
