"""The embedded offline corpus: the running CPython's standard-library sources and pydoc topics.

Real natural text (code, docstrings, comments, documentation) that exists on every machine the
project installs on, so runs need no download; deterministic for a given Python install.
"""

import dataclasses
import functools
import hashlib
import pathlib
import sysconfig
from collections.abc import Sequence

# Tests are excluded because they hold generated or deliberately odd data; idlelib/turtledemo are
# apps; pydoc_data is excluded because its topics are added as documents in their own right.
_EXCLUDED_DIRS = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib",
                            "turtledemo", "pydoc_data", "__pycache__"})
SPLITS = ("train", "validation")


@dataclasses.dataclass(frozen=True)
class Document:
  name: str
  text: str


def stdlib_documents() -> list[Document]:
  """Every UTF-8 .py file of the standard library outside the excluded directories, by sorted path."""
  root = pathlib.Path(sysconfig.get_paths()["stdlib"])
  documents = []
  for path in sorted(root.rglob("*.py")):
    relative = path.relative_to(root)
    if _EXCLUDED_DIRS.intersection(relative.parts[:-1]):
      continue
    try:
      text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
      continue
    if text.strip():
      documents.append(Document(f"stdlib/{relative.as_posix()}", text))
  return documents


def pydoc_topic_documents() -> list[Document]:
  """The language-reference topics that `help()` shows, one document per topic, by sorted name."""
  from pydoc_data import topics  # pylint: disable=import-outside-toplevel

  return [Document(f"pydoc_topics/{name}", topics.topics[name])
          for name in sorted(topics.topics) if topics.topics[name].strip()]


@functools.cache
def embedded_documents() -> tuple[Document, ...]:
  """The whole corpus in order; read once per process (the install does not change under it)."""
  return tuple(stdlib_documents() + pydoc_topic_documents())


def fingerprint(documents: Sequence[Document]) -> str:
  """sha256 over the documents in order (names and texts, length-prefixed so it is unambiguous)."""
  digest = hashlib.sha256()
  for document in documents:
    for part in (document.name, document.text):
      data = part.encode("utf-8")
      digest.update(len(data).to_bytes(8, "little"))
      digest.update(data)
  return digest.hexdigest()


def is_heldout(name: str, eval_fraction: float) -> bool:
  """Held-out membership by a hash of the document's name: stable when other documents change."""
  bucket = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2**64
  return bucket < eval_fraction


def split_documents(documents: Sequence[Document], eval_fraction: float) -> dict[str, list[Document]]:
  """{"train": [...], "validation": [...]}, each in corpus order, disjoint by document."""
  validation = [d for d in documents if is_heldout(d.name, eval_fraction)]
  train = [d for d in documents if not is_heldout(d.name, eval_fraction)]
  return {"train": train, "validation": validation}
