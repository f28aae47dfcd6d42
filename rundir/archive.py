r"""Keeps finished runs' records in the repository, so that a lost machine loses no finished run.

  python -m rundir.archive pack runs/repro_long_cpu runs/fig7_cpu     # after runs finish: then commit records/
  python -m rundir.archive unpack runs/repro_long_cpu runs/fig7_cpu   # on a fresh machine, before the sweep

A suite's runs take hours to days of this machine's time; the machine and its run roots have been replaced
between sessions twice. `pack` writes each finished run (completed, diverged or warned) of ROOT as one
`records/<ROOT's name>/<unit>.tar.xz` holding only what analysis and the launcher read (run.json,
status.json, metrics.jsonl, monitor.jsonl, warnings.jsonl, data.json, config.gin, launch.json; no
checkpoint, TensorBoard event file or log), plus ROOT's sweep.json. A finished run's records never change,
so a run packed once is never rewritten and the repository grows by each run once. `unpack` writes them
back into ROOT: `launch.sweep` then counts those units finished and trains only the rest, and analysis reads
the same bytes it would have read from the original root. A unit directory already in ROOT is left alone.
Exit code 2 on a bad root, with nothing written.
"""

import io
import os
import shutil
import sys
import tarfile

from absl import app, flags

from rundir import flag_parser, manifests, progress
from rundir.bindings import REPO_ROOT
from rundir.files import (CONFIG_GIN, DATA_FILE, MANIFEST_FILE, METRICS_FILE, MONITOR_FILE, RECORD_FILE, RUN_FILE,
                          STATUS_FILE, WARNINGS_FILE, unwritable, write_bytes)

RECORDS = os.path.join(REPO_ROOT, "records")  # the default store, whatever the current directory
KEPT = (RUN_FILE, STATUS_FILE, METRICS_FILE, MONITOR_FILE, WARNINGS_FILE, DATA_FILE, CONFIG_GIN, RECORD_FILE)
SUFFIX = ".tar.xz"

flags.DEFINE_string("store", RECORDS, "Where the records live: STORE/<ROOT's name>/<unit>.tar.xz.")


class ArchiveError(ValueError):
  """Bad input: a root or store that is not what the command expects."""


def _suite_store(store: str, root: str) -> str:
  """STORE/<ROOT's folder name> (of its absolute path, so that `.` names the folder too)."""
  return os.path.join(store, os.path.basename(os.path.abspath(root)))


def check(command: str, root: str, store: str) -> dict:
  """The sweep.json `command` ("pack" or "unpack") copies: ROOT's, or the store's of ROOT. ArchiveError (or
  ManifestError, for a corrupt sweep.json) unless there is one to read, the folders written can be, and no other
  sweep is already under ROOT's name at the other end."""
  if not store:
    raise ArchiveError("--store is empty: expected a folder (default: the repository's records/)")
  folder = _suite_store(store, root)
  written = [("root", root)] if command == "unpack" else [("--store", store), ("store folder", folder)]
  for name, path in written:
    why = unwritable(path)
    if why:
      raise ArchiveError(f"{name} {path} {why}: expected a folder this user can create and write")
  source, other = (root, folder) if command == "pack" else (folder, root)
  read = manifests.read(source)
  if read is None and command == "pack":
    raise ArchiveError(f"root {root} has no {MANIFEST_FILE}: expected a sweep's root (launch.sweep --root)")
  if read is None:
    raise ArchiveError(f"{folder} holds no records of {root}: expected a root packed with `pack`")
  there = manifests.read(other)
  if there is not None:
    ours = {u["name"]: u for u in read["units"]}
    differ = [u["name"] for u in there["units"] if u["name"] in ours and ours[u["name"]] != u]
    same_name = manifests.sweep_name(there) == manifests.sweep_name(read)
    if not same_name or differ:
      what = (f"unit {differ[0]!r} defined otherwise" if same_name
              else f"sweep {manifests.sweep_name(there)!r} and {source} sweep {manifests.sweep_name(read)!r}")
      raise ArchiveError(f"{other} holds {what}: expected the same sweep, or one that extends it (another root "
                         "or --store)")
  return read


def _copy(source: str, target: str) -> None:
  with open(source, "rb") as f:
    write_bytes(target, f.read())


def _tar(unit_dir: str) -> bytes:
  """The unit's kept files as a tar.xz whose bytes depend only on their names, contents and mtimes."""
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
    for name in KEPT:
      path = os.path.join(unit_dir, name)
      if not os.path.isfile(path):
        continue
      info = tarfile.TarInfo(name)
      with open(path, "rb") as f:
        data = f.read()
      info.size, info.mtime, info.mode = len(data), int(os.path.getmtime(path)), 0o644
      tar.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def pack(root: str, store: str) -> tuple[int, int, int, int]:
  """Packs ROOT's finished runs not yet in the store: (packed now, already there, bytes written, finished
  runs whose launcher has not yet recorded their attempt's end: a later pack stores them)."""
  units = manifests.unit_names(check("pack", root, store))
  target = _suite_store(store, root)
  os.makedirs(target, exist_ok=True)
  _copy(os.path.join(root, MANIFEST_FILE), os.path.join(target, MANIFEST_FILE))
  packed = present = written = waiting = 0
  for unit in units:
    unit_dir, archive = os.path.join(root, unit), os.path.join(target, unit + SUFFIX)
    if os.path.exists(archive):
      present += 1
      continue
    if not progress.is_settled(unit_dir):
      waiting += progress.is_finished(unit_dir)
      continue
    data = _tar(unit_dir)
    write_bytes(archive, data)
    packed, written = packed + 1, written + len(data)
  return packed, present, written, waiting


def unpack(root: str, store: str) -> tuple[int, int]:
  """Writes the store's runs of ROOT into ROOT: (restored, left alone because ROOT already has them)."""
  check("unpack", root, store)
  source = _suite_store(store, root)
  os.makedirs(root, exist_ok=True)
  if not os.path.exists(os.path.join(root, MANIFEST_FILE)):
    _copy(os.path.join(source, MANIFEST_FILE), os.path.join(root, MANIFEST_FILE))
  restored = kept = 0
  for name in sorted(os.listdir(source)):
    if not name.endswith(SUFFIX):
      continue
    unit = name[:-len(SUFFIX)]
    unit_dir = os.path.join(root, unit)
    if os.path.exists(unit_dir):
      kept += 1
      continue
    tmp = os.path.join(root, f".{unit}.unpacking")  # hidden: analysis reads no dot folder as a run
    shutil.rmtree(tmp, ignore_errors=True)  # an earlier unpack killed mid-way
    with tarfile.open(os.path.join(source, name), mode="r:xz") as tar:
      tar.extractall(tmp, filter="data")
    try:
      os.replace(tmp, unit_dir)
    except OSError:
      if not os.path.exists(unit_dir):
        raise
      shutil.rmtree(tmp)  # a sweep running in ROOT started the unit meanwhile: its directory is left alone
      kept += 1
      continue
    restored += 1
  return restored, kept


def main(argv: list[str]) -> None:
  if len(argv) < 3 or argv[1] not in ("pack", "unpack"):
    print("error: expected `pack ROOT...` or `unpack ROOT...`", file=sys.stderr)
    sys.exit(2)
  command, roots, store = argv[1], argv[2:], flags.FLAGS.store
  folders, refused = [_suite_store(store, root) for root in roots], []
  for root, folder in zip(roots, folders):  # every root checked before any is written
    try:
      check(command, root, store)
      if folders.count(folder) > 1:
        raise ArchiveError(f"root {root}: another root given shares its store folder {folder}: expected roots with "
                           "distinct folder names")
    except (ArchiveError, manifests.ManifestError) as e:
      refused.append((root, e))
  if refused:
    also = f" (also refused: {', '.join(root for root, _ in refused[1:])})" if len(refused) > 1 else ""
    print(f"error: {refused[0][1]}{also}", file=sys.stderr)
    sys.exit(2)
  for root in roots:
    if command == "pack":
      packed, present, written, waiting = pack(root, store)
      wait = f", {waiting} waiting for their launcher's record of the attempt's end" if waiting else ""
      print(f"{root}: packed {packed} finished runs ({written / 1e6:.1f} MB) into {_suite_store(store, root)}, "
            f"{present} already there{wait}", flush=True)
    else:
      restored, kept = unpack(root, store)
      print(f"{root}: restored {restored} finished runs from {_suite_store(store, root)}, {kept} already in the root",
            flush=True)


if __name__ == "__main__":
  app.run(main, flags_parser=flag_parser.parse_flags)
