"""The run directory, the one contract between train/, launch/ and analysis/ (docs/run_directory.md).

Each of the three imports this package and it imports none of them; it holds to the standard library
(cli.py's absl aside) so launch and analysis stay free of JAX:
  files     the files' names and states, atomic and tolerant JSON / JSON-lines I/O, RunDir
  lock      one writer per directory (flock)
  bindings  where a gin file is; the shape of a NAME=VALUE binding
  scale     the paper's LR grid and the reproduction suite's scale
  display   durations and tables as every command shows them
  progress  where a sweep's units stand (state, step, wall time, attempts) and its ETA
  cli       absl flag errors as exit 2
  cores     the CPU cores a process may run on (run.json's cpu_cores; the workers' pinning)
  fields    a config dataclass's values checked against its annotations (run.json's config)
"""
