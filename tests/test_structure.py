"""Source checks that keep each fact in one place: the run states in rundir/ only, the rules in
analysis/rules.py only (written out, never read back), and the rules free of plotting."""

import ast
import pathlib
import subprocess
import sys

from rundir import files

REPO = pathlib.Path(__file__).resolve().parent.parent
CODE = ("analysis", "launch", "train", "instability", "model")
STATES = {files.COMPLETED, files.DIVERGED, files.WARNED, files.FAILED, "pending", "running"}


def _sources(*folders: str) -> list[pathlib.Path]:
  return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def test_run_states_are_listed_only_in_rundir():
  """No collection of two or more state names outside rundir/: a list there is the one to import."""
  found = []
  for path in _sources(*CODE):
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(names) >= 2 and len(names) == len(node.elts) and set(names) <= STATES:
          found.append(f"{path.relative_to(REPO)}:{node.lineno}")
  assert not found, found
  assert set(files.FINAL) == {"completed", "diverged", "warned", "failed"}


def _code_strings(path: pathlib.Path) -> list[str]:
  """The string constants of a module that are not docstrings."""
  tree = ast.parse(path.read_text())
  docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
  return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
          and id(n) not in docstrings]


def test_one_rules_module_and_no_analysis_code_reads_the_rules_doc():
  from analysis import rules, reproduction  # pylint: disable=import-outside-toplevel
  defining = [p.name for p in _sources("analysis")
              if any(isinstance(n, ast.ClassDef) and n.name == "Rule" for n in ast.walk(ast.parse(p.read_text())))]
  assert defining == ["rules.py"]
  assert not (REPO / "analysis" / "figure_verdicts.py").exists()
  naming_the_doc = [p.name for p in _sources("analysis") if any("reproduction_rules" in s for s in _code_strings(p))]
  assert naming_the_doc == ["reproduction.py"]  # which writes it, from the rules module
  assert reproduction.RULES_DOC.endswith("reproduction_rules.md")
  assert "open(" not in (REPO / "analysis" / "reproduction.py").read_text()
  assert rules.markdown().count("\n- **") >= 12


def test_the_rules_import_no_plotting():
  code = "import sys, analysis.rules, analysis.findings; print('matplotlib' in sys.modules)"
  result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.stdout.strip() == "False", result.stderr


def _defined(path: pathlib.Path) -> set[str]:
  """The names a module defines at its top level (functions, classes, assignments)."""
  names = set()
  for node in ast.parse(path.read_text()).body:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
      names.add(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
      names |= {t.id for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)}
  return names


def test_one_registry_of_figures_and_sections_both_reports_read():
  from analysis import registry, rules  # pylint: disable=import-outside-toplevel
  lists = {"FIGURES", "FINDING_SECTIONS", "SUITE_SECTIONS", "FIGURE_SUITES", "COVERED", "BUILDERS", "CLAIMS",
           "figure_specs", "_figure_specs", "sections"}
  defining = {p.name: _defined(p) & lists for p in _sources("analysis")}
  assert {name: found for name, found in defining.items() if found} == {
      "registry.py": {"FIGURES", "FINDING_SECTIONS", "SUITE_SECTIONS", "FIGURE_SUITES", "COVERED"}}
  names = [f.name for f in registry.FIGURES]
  keys = [f.key for f in registry.FINDING_SECTIONS] + [s.key for s in registry.SUITE_SECTIONS]
  assert len(set(names)) == len(names) and len(set(keys)) == len(keys)
  sections = (*registry.FINDING_SECTIONS, *registry.SUITE_SECTIONS)
  assert {n for s in sections for n in s.figures} <= set(names)
  assert all(rules.section(key).rules for key in keys)  # each section's rules under its key
  for module in ("report.py", "reproduction.py", "figure_suites.py"):  # run figures come from the registry
    drawn = {n.attr for n in ast.walk(ast.parse((REPO / "analysis" / module).read_text()))
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "figures"}
    assert drawn <= {"lines", "Panel", "Line"}, (module, drawn)


def test_runs_are_grouped_by_one_function():
  """`grouping.group_by` is the one grouping loop: no `d.setdefault(key, []).append(x)` elsewhere."""
  found = []
  for path in _sources("analysis"):
    for node in ast.walk(ast.parse(path.read_text())):
      if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
          and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Attribute)
          and node.func.value.func.attr == "setdefault"):
        found.append(f"{path.name}:{node.lineno}")
  assert found == ["grouping.py:47"]
