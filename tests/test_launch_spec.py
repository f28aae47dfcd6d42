"""Sweep expansion (product, zip, gin-file slots), the named sweeps, and the launcher's bad-input
errors: no trainer runs here."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from launch import ginfiles, hyper, inline, spec, sweeps
from rundir import bindings
from launch.sweeps import grid
from launch.errors import LaunchError
from tests.trainer_utils import REPO


def launch_cmd(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "launch.sweep", *args], cwd=cwd, capture_output=True, text=True,
                        timeout=120)


def test_product_is_cartesian_first_axis_slowest():
  points = hyper.product(hyper.sweep("lr", [1e-3, 1e-2]), hyper.sweep("num_layers", [2, 4]))
  assert points == [{"lr": 1e-3, "num_layers": 2}, {"lr": 1e-3, "num_layers": 4},
                    {"lr": 1e-2, "num_layers": 2}, {"lr": 1e-2, "num_layers": 4}]


def test_zip_ties_values_and_needs_equal_lengths():
  assert inline.parse_sweep("steps=[100,200];warmup_steps=[10,20]") == [
      {"steps": 100, "warmup_steps": 10}, {"steps": 200, "warmup_steps": 20}]
  with pytest.raises(LaunchError, match="equal lengths"):
    inline.parse_sweep("steps=[100,200];warmup_steps=[10]")


def test_inline_values_are_literals_or_paths():
  assert inline.parse_axis("x=[1e-3, 32, 'per_head', None, True, gin/ablations/no_z_loss.gin]") == [
      {"x": 1e-3}, {"x": 32}, {"x": "per_head"}, {"x": None}, {"x": True}, {"x": "gin/ablations/no_z_loss.gin"}]
  for bad in ("lr", "lr=1e-3", "lr=[]", "lr=[[1,2]]"):
    with pytest.raises(LaunchError):
      inline.parse_sweep(bad)


def test_units_fill_slots_and_bind_the_rest():
  points = hyper.product(hyper.sweep("arch", ["gin/qkln.gin", "gin/no_qkln.gin"]),
                         hyper.sweep("ablation", [None, "gin/ablations/no_z_loss.gin"]), hyper.sweep("lr", [0.1]))
  sweep = spec.Sweep("s", ["{arch}", "{ablation}", "gin/local.gin"], points, {"steps": 5})
  units = spec.expand(sweep)
  assert [u.name for u in units] == ["arch=qkln,ablation=none,lr=0.1", "arch=qkln,ablation=no_z_loss,lr=0.1",
                                     "arch=no_qkln,ablation=none,lr=0.1", "arch=no_qkln,ablation=no_z_loss,lr=0.1"]
  assert units[1].gin_files == ("gin/qkln.gin", "gin/ablations/no_z_loss.gin", "gin/local.gin")
  assert units[1].gin_bindings == ("steps=5", "lr=0.1")
  ginfiles.check_units(units, sweep.slots(), sweep.bindings)


def test_expand_refuses_empty_clashing_and_unfilled_sweeps():
  with pytest.raises(LaunchError, match="no units"):
    spec.expand(spec.Sweep("s", ["gin/qkln.gin"], hyper.product(hyper.sweep("lr", []))))
  with pytest.raises(LaunchError, match="two units the name"):
    spec.expand(spec.Sweep("s", ["gin/qkln.gin"], hyper.sweep("lr", [0.1, 0.1])))
  with pytest.raises(LaunchError, match="slot"):
    spec.expand(spec.Sweep("s", ["{arch}"], hyper.sweep("lr", [0.1])))


@pytest.mark.parametrize("name", sorted(sweeps.all_sweeps()))
def test_named_sweep_expands_to_existing_gin_files(name):
  sweep = sweeps.get(name)
  units = spec.expand(sweep)
  ginfiles.check_units(units, sweep.slots())
  assert all(bindings.resolve(f) for u in units for f in u.gin_files)
  cpu_presets = ("gin/local.gin", "gin/repro.gin", "gin/repro_smoke.gin", "gin/repro_long.gin",
                 "gin/logit_divergence.gin")  # all include the first
  assert (sweep.gin_files[-1] in cpu_presets) == name.endswith("_cpu")


def test_every_figure_has_a_sweep_and_a_cpu_variant():
  figures = ["fig1", "fig2", "fig3_4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11_13", "figC1",
             *[f"figE{i}" for i in range(1, 16)]]
  suite = ["repro_cpu", "repro_smoke_cpu", "repro_long_cpu", "repro_seeds_cpu",  # the CPU reproduction suites,
           "repro_long_seeds_cpu"]  # launch/sweeps/repro.py
  heldout = ["fig9_fit_cpu", "fig9_heldout_cpu"]  # Fig 9's prediction before training the largest model
  seeds = ["fig8_seeds_cpu",  # docs/reproduction_rules.md, Fig 8 seeds; issue 24's missing seeds:
           "fig7_seeds_cpu", "fig12_13_seeds_cpu", "figE4_seeds_cpu"]
  controls = ["logit_divergence_cpu", "logit_divergence_seeds_cpu"]  # reproduction_rules: output-logit divergence
  depth = ["depth_scaling_cpu", "depth_scaling_seeds_cpu"]  # docs/reproduction_rules.md, Depth co-scaling
  aliases = {"figE1": "fig1", "figE12": "figC1", "figE13": "figC1"}  # the same runs, trained once
  named = [f for f in figures if f not in aliases]
  assert sorted(sweeps.all_sweeps()) == sorted(named + [f"{f}_cpu" for f in named] + suite + heldout + seeds
                                               + controls + depth)
  assert sweeps.aliases() == {**aliases, **{f"{a}_cpu": f"{n}_cpu" for a, n in aliases.items()}}


def test_an_alias_is_its_sweep_under_the_sweeps_name(tmp_path):
  assert sweeps.get("figE13_cpu") is sweeps.get("figC1_cpu") and sweeps.get("figE1").name == "fig1"
  result = launch_cmd("--sweep_name=figE12_cpu", "--dry_run")
  assert result.returncode == 0, result.stderr
  assert f"21 units in {os.path.join(REPO, 'runs', 'figC1_cpu')}" in result.stdout


def test_dry_run_prints_product_and_zip_units_and_writes_nothing(tmp_path):
  root = tmp_path / "demo"
  result = launch_cmd("--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin", "--sweep=lr=[1e-3,1e-2]",
                      "--sweep=steps=[10,20];warmup_steps=[1,2]", f"--root={root}", "--dry_run")
  assert result.returncode == 0, result.stderr
  names = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")][:-1]
  assert names == ["lr=0.001,steps=10,warmup_steps=1", "lr=0.001,steps=20,warmup_steps=2",
                   "lr=0.01,steps=10,warmup_steps=1", "lr=0.01,steps=20,warmup_steps=2"]
  assert "--gin_bindings=steps=20 --gin_bindings=warmup_steps=2" in result.stdout
  assert not root.exists()


def test_dry_run_prints_the_train_main_command_that_trains_each_unit_alone(tmp_path):
  root = tmp_path / "demo"
  result = launch_cmd("--gin_file=gin/qkln.gin", "--gin_file=gin/local.gin", "--sweep=lr=[1e-3,1e-2]",
                      "--gin_bindings=OptimizerConfig.weight_decay_mode='coupled'", f"--root={root}", "--dry_run")
  assert result.returncode == 0, result.stderr
  commands = [shlex.split(line) for line in result.stdout.splitlines() if line.startswith("  ")]
  assert [c[1:3] for c in commands] == [["-m", "train.main"]] * 2
  assert commands[1][-1] == f"--workdir={root / 'lr=0.01'}"
  assert "--gin_bindings=OptimizerConfig.weight_decay_mode='coupled'" in commands[1]
  pasted = subprocess.run([sys.executable, *commands[1][1:], "--print_config"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
  assert pasted.returncode == 0, pasted.stderr
  assert json.loads(pasted.stdout)["bindings"]["lr"] == 0.01 and not root.exists()


def test_named_dry_run_and_list():
  result = launch_cmd("--sweep_name=fig1_cpu", "--dry_run", "--root=/nonexistent/fig1")
  assert result.returncode == 0, result.stderr
  assert "42 units in /nonexistent/fig1" in result.stdout
  assert "fig11_13_cpu" in launch_cmd("--list").stdout


@pytest.mark.parametrize("args, message", [
    (["--sweep_name=fig99"], "unknown sweep name 'fig99'"),
    (["--gin_file=gin/qkln.gin", "--sweep=lrr=[0.1]"], "not a gin macro"),
    (["--gin_file=gin/qkln.gin", "--sweep=NoSuchConfig.x=[1]"], "never bind"),
    (["--gin_file=gin/qkln.gin", "--sweep=lr=[]"], "has no values"),
    (["--gin_file=gin/nope.gin", "--sweep=lr=[0.1]"], "not found"),
    (["--gin_file={arch}", "--sweep=lr=[0.1]"], "slot"),
    (["--gin_file=gin/qkln.gin", "--executor=xm"], "pip install -e '.[xm]'"),
    (["--sweep_name=fig1", "--sweep=lr=[0.1]"], "expected no --gin_file"),
    # before: a traceback (tokenize.TokenError, UnicodeDecodeError)
    (["--gin_file=gin/qkln.gin", "--gin_file={tmp}/open.gin", "--sweep=lr=[0.1]"], "open.gin' does not parse"),
    (["--gin_file=gin/qkln.gin", "--gin_file={tmp}/latin1.gin", "--sweep=lr=[0.1]"], "'utf-8' codec can't decode"),
    # before: ignored here, and a traceback after the experiment was created with --executor=xm
    (["--gin_file=gin/qkln.gin", "--sweep=lr=[0.1]", "--xm_accelerator=a100"], "expected it only with --executor=xm"),
])
def test_bad_input_is_one_line_exit_2_and_starts_nothing(tmp_path, args, message):
  (tmp_path / "open.gin").write_text("lr = (1,\n")
  (tmp_path / "latin1.gin").write_bytes("lr = 0.1  # caf\xe9\n".encode("latin-1"))
  args = [a.replace("{tmp}", str(tmp_path)) for a in args]
  if "--executor=xm" in args and subprocess.run([sys.executable, "-c", "import xmanager"]).returncode == 0:
    pytest.skip("xmanager is installed in this venv")
  root = tmp_path / "root"
  result = launch_cmd(*args, f"--root={root}")
  assert result.returncode == 2
  assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not root.exists()


def test_foreign_root_is_refused_without_force_and_nothing_deleted(tmp_path):
  root = tmp_path / "root"
  (root / "lr=0.1").mkdir(parents=True)
  (root / "sweep.json").write_text(json.dumps({"sweep": {"name": "other"}, "units": [
      {"name": "lr=0.1", "gin_files": ["gin/no_qkln.gin"], "gin_bindings": ["lr=0.1"], "point": {"lr": 0.1}}]}))
  (root / "notes.txt").write_text("mine")
  args = ["--gin_file=gin/qkln.gin", "--sweep=lr=[0.1]", f"--root={root}", "--dry_run"]
  result = launch_cmd(*args)
  assert result.returncode == 2 and "holds another sweep" in result.stderr
  assert launch_cmd(*args, "--force").returncode == 0
  plain = tmp_path / "plain"
  plain.mkdir()
  (plain / "notes.txt").write_text("mine")
  result = launch_cmd(*args[:-2], f"--root={plain}", "--dry_run")
  assert result.returncode == 2 and "holds no sweep.json" in result.stderr
  assert sorted(os.listdir(root)) == ["lr=0.1", "notes.txt", "sweep.json"]
  for corrupt, message in (('{"sweep": {"na', "sweep.json is unreadable"), ('{"sweep": "other", "units": []}',
                                                                          "lacks a sweep name")):
    (root / "sweep.json").write_text(corrupt)
    result = launch_cmd(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_mup_cpu_sweeps_take_their_base_width_from_the_smallest_cpu_model():
  """Section 3.2.4: base fan-ins come from the smallest model tested (256 in the paper, 64 on CPU)."""
  for name in ("fig8_cpu", "figE4_cpu", "figE5_cpu"):
    assert sweeps.get(name).bindings["ModelConfig.mup_base_width"] == min(grid.CPU_WIDTHS) == 64
  for name in ("fig8", "figE4", "figE5", "fig1_cpu"):
    assert "ModelConfig.mup_base_width" not in sweeps.get(name).bindings


def test_fig8_seeds_replicate_every_fig8_cpu_unit_at_seeds_1_and_2():
  """Each seed unit is a fig8_cpu unit with `seed=N` added: same files, same bindings, nothing else."""
  base, seeded = (spec.expand(sweeps.get(name)) for name in ("fig8_cpu", "fig8_seeds_cpu"))
  assert len(seeded) == 2 * len(base) == 84
  for seed, units in zip((1, 2), (seeded[:42], seeded[42:])):
    for unit, of in zip(units, base):
      assert unit.name == f"{of.name},seed={seed}"
      assert unit.gin_files == of.gin_files
      assert unit.gin_bindings == (*of.gin_bindings, f"seed={seed}")


def test_logit_divergence_suite_crosses_the_levers_of_rule_pc():
  """24 units: vocabulary x dtype x z-loss (the paper's 1e-4 and none) x LR >= 0.1, no weight decay."""
  units = spec.expand(sweeps.get("logit_divergence_cpu"))
  assert len(units) == 24
  axes = {key: sorted({u.point[key] for u in units}, key=str) for key in units[0].point}
  assert axes == {"embedded_source.vocab_size": [2048, 8192], "ModelConfig.compute_dtype": ["bfloat16", "float32"],
                  "TrainConfig.z_loss_coef": [0.0, 0.0001], "lr": [0.1, 0.3, 1.0]}
  assert all(u.gin_files == ("gin/qkln.gin", "gin/logit_divergence.gin") for u in units)


def _replicates(base: str, seeded: str, count: int) -> list:
  """Checks that each unit of `seeded` is one of `base`'s with `seed=N` added, seed 1's then seed 2's, and
  returns the base units they replicate."""
  by_name = {u.name: u for u in spec.expand(sweeps.get(base))}
  units = spec.expand(sweeps.get(seeded))
  assert len(units) == count
  assert [u.point["seed"] for u in units] == [1] * (count // 2) + [2] * (count // 2)
  of = []
  for unit in units:
    base_name, seed = unit.name.rsplit(",seed=", 1)
    twin = by_name[base_name]
    assert unit.gin_files == twin.gin_files and unit.gin_bindings == (*twin.gin_bindings, f"seed={seed}")
    of.append(twin)
  assert [u.name for u in of[:count // 2]] == [u.name for u in of[count // 2:]]
  return of[:count // 2]


def test_issue_24s_missing_seeds_replicate_the_cells_their_claims_read():
  """7a/7b: every fig7_cpu unit; 12a/12b: the three epsilon units at d=512; 8d: muParam without qk-LN at
  d=128 and 256 (at d=64 muParam is the standard model)."""
  assert len(_replicates("fig7_cpu", "fig7_seeds_cpu", 84)) == len(spec.expand(sweeps.get("fig7_cpu")))
  eps = _replicates("fig11_13_cpu", "fig12_13_seeds_cpu", 6)
  assert {(u.point["adam_eps"], u.point["d_model"], u.point["lr"]) for u in eps} == {
      (None, 512, 0.3), ("gin/ablations/adam_eps_1e-15.gin", 512, 0.3), ("gin/ablations/adam_eps_1e-6.gin", 512, 0.3)}
  mup = _replicates("figE4_cpu", "figE4_seeds_cpu", 28)
  assert {(u.point["param"], u.point["d_model"]) for u in mup} == {
      ("gin/ablations/mup_simple.gin", 128), ("gin/ablations/mup_simple.gin", 256)}
  assert sorted({u.point["lr"] for u in mup}) == sorted(grid.LRS)


def test_depth_scaling_grows_depth_width_and_heads_together():
  """(d_model, heads, layers) = (64, 1, 1), (128, 2, 2), (256, 4, 4), qk-LN on and off, the paper's 7 LRs,
  on 2b's preset; its seeds sweep replicates every unit."""
  units = spec.expand(sweeps.get("depth_scaling_cpu"))
  assert len(units) == 42
  assert {(u.point["d_model"], u.point["num_heads"], u.point["num_layers"]) for u in units} == {
      (64, 1, 1), (128, 2, 2), (256, 4, 4)}
  assert {u.point["arch"] for u in units} == {"gin/qkln.gin", "gin/no_qkln.gin"}
  assert sorted({u.point["lr"] for u in units}) == sorted(grid.LRS)
  assert all(u.gin_files[-1] == "gin/repro.gin" and "num_layers=4" in u.gin_bindings
             for u in units if u.point["d_model"] == 256)
  assert len(_replicates("depth_scaling_cpu", "depth_scaling_seeds_cpu", 84)) == 42
