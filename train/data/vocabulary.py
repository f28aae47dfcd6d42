"""SentencePiece vocabularies: training the embedded corpus's own, and loading any model file.

Trained vocabularies follow T5's id layout (pad=0, eos=1, unk=2, no bos) so that
seqio.SentencePieceVocabulary and the packing code treat them like the T5 vocabulary.
"""

import io
import pathlib

import sentencepiece as spm

from train.data.embedded_corpus import Document
from train.data.errors import DataError

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
MIN_TRAINED_VOCAB_SIZE = 320  # 256 byte-fallback pieces + 3 specials + room for real pieces
_LINE_STRIDE = 4  # every 4th non-blank line: ~2.7 MB of text, trains in ~10 s on 2 cores
_TRAINER_THREADS = 2  # fixed, not os.cpu_count(): EM sums in per-thread order, so the model depends on it


def training_lines(documents: list[Document]) -> list[str]:
  """A deterministic subset of the documents' non-blank lines (SentencePiece trains on lines)."""
  lines = [line for document in documents for line in document.text.split("\n") if line.strip()]
  return lines[::_LINE_STRIDE]


def train_sentencepiece(lines: list[str], vocab_size: int) -> bytes:
  """A unigram model proto; identical bytes for identical inputs.

  Identity normalization without whitespace collapsing and whitespace-only pieces keep code
  indentation; byte fallback makes every string encodable, so decode(encode(text)) == text.
  """
  if vocab_size < MIN_TRAINED_VOCAB_SIZE:
    raise DataError(f"vocab_size={vocab_size} is too small; expected >= {MIN_TRAINED_VOCAB_SIZE} "
                    "(256 byte pieces + specials)")
  model = io.BytesIO()
  try:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="unigram",
        vocab_size=vocab_size, pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=False, allow_whitespace_only_pieces=True, split_digits=True,
        character_coverage=0.9995, input_sentence_size=0, shuffle_input_sentence=False,
        num_threads=_TRAINER_THREADS, minloglevel=2)
  except RuntimeError as e:
    raise DataError(f"SentencePiece training failed for vocab_size={vocab_size}: "
                    f"{str(e).strip().splitlines()[-1]}") from None
  return model.getvalue()


def _unreadable(name: str, e: Exception) -> DataError:
  reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
  return DataError(f"vocabulary {name!r} is not a readable SentencePiece model ({reason})")


def load_sentencepiece(path: pathlib.Path | str) -> spm.SentencePieceProcessor:
  """The processor for a local model file, or a DataError naming the file."""
  try:
    return spm.SentencePieceProcessor(model_file=str(path))
  except (OSError, RuntimeError) as e:
    raise _unreadable(str(path), e) from None


def load_sentencepiece_proto(proto: bytes, name: str) -> spm.SentencePieceProcessor:
  """The processor for a model file's bytes (read from anywhere), or a DataError naming the file."""
  try:
    return spm.SentencePieceProcessor(model_proto=proto)
  except (OSError, RuntimeError) as e:
    raise _unreadable(name, e) from None
