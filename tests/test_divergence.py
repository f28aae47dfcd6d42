"""The early-stop rule: only a non-finite loss or a sustained excursion above the threshold stops a run."""

import math

import pytest

from train.divergence import Spikes, observe, replay

THRESHOLD = 5.0


def run(losses, window=3):
  """Feeds logs at steps 10, 20, ... until one stops the run; (record, stop step, reason)."""
  spikes = Spikes()
  for i, loss in enumerate(losses, 1):
    spikes, reason = observe(spikes, 10 * i, loss, THRESHOLD, window)
    if reason:
      return spikes, 10 * i, reason
  return spikes, None, None


def test_a_spike_that_recovers_is_recorded_and_does_not_stop_the_run():
  spikes, stop, _ = run([4.0, 9.0, 9.5, 4.5, 6.0, 3.0])
  assert stop is None
  assert spikes == Spikes(count=3, streak=0, last_step=50)


def test_a_sustained_excursion_stops_at_the_window_th_consecutive_log():
  spikes, stop, reason = run([4.0, 6.0, 4.0, 6.0, 7.0, 8.0, 9.0], window=3)
  assert stop == 60 and spikes == Spikes(count=4, streak=3, last_step=60)
  assert "exceeds threshold 5.0000" in reason and "last 3 logs" in reason


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_at_once(loss):
  spikes, stop, reason = run([4.0, loss, 4.0], window=100)
  assert stop == 20 and "not finite" in reason and spikes == Spikes()


def test_a_loss_at_the_threshold_is_not_a_spike():
  assert run([THRESHOLD] * 5, window=1) == (Spikes(), None, None)


def test_replay_of_kept_metrics_equals_the_record_written_live():
  losses = [4.0, 9.0, 9.5, 4.5, 6.0]
  live, _, _ = run(losses, window=10)
  records = [{"step": 0, "eval/loss": 4.0}] + [{"step": 10 * i, "train/loss": x}
                                               for i, x in enumerate(losses, 1)][::-1]
  assert replay(records, THRESHOLD, 10) == live
  assert live.status() == {"spike_logs": 3, "spike_streak": 1, "last_spike_step": 50}
