"""Run-directory facts shared by train/, launch/ and analysis/ (stdlib only: launch must not import train)."""
