"""train/phases.py: exclusive wall time per phase."""

from train import phases as phases_lib


def test_a_nested_phase_pauses_the_outer_one_and_the_phases_add_up(monkeypatch):
  clock = iter([0.0, 1.0, 3.0, 3.5, 4.0, 10.0, 10.25, 10.5, 11.0, 11.0])
  monkeypatch.setattr(phases_lib.time, "perf_counter", lambda: next(clock))
  phases = phases_lib.Phases()             # 0.0
  with phases("compile"):                  # 1.0: set-up 1
    pass                                   # 3.0: compile 2
  phases.switch("steps")                   # 3.5: set-up 0.5 more
  with phases("evals"):                    # 4.0: steps 0.5
    with phases("checkpoints"):            # 10.0: evals 6
      pass                                 # 10.25: checkpoints 0.25
  # evals end at 10.5 (0.25 more); line() charges steps up to 11.0 (0.5 more)
  assert phases.line() == ("time: set-up 1.50 s, compile 2.00 s, steps 1.00 s, evals 6.25 s, "
                           "checkpoints 0.25 s, total 11.00 s")
