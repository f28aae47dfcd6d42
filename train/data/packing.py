"""Rows of a token stream and the features the model reads from them.

Shape letters: B rows (this process's part of the batch), L seq_len, N stream tokens.
A row holds L+1 tokens: inputs = row[:-1], targets = row[1:]. Row i starts at token i*L, so
consecutive rows overlap by one token and every token of the stream is some row's target.
"""

import numpy as np

PACKINGS = ("concat", "segment")


def num_rows(num_tokens: int, seq_len: int) -> int:
  return max(num_tokens - 1, 0) // seq_len


def take_rows(tokens_N: np.ndarray, row_indices_B: np.ndarray, seq_len: int) -> np.ndarray:
  """int32 [B, L+1]: the rows with the given indices."""
  starts_B = np.asarray(row_indices_B, np.int64) * seq_len
  return tokens_N[starts_B[:, None] + np.arange(seq_len + 1)[None, :]].astype(np.int32)


def concat_features(rows_BL1: np.ndarray) -> dict[str, np.ndarray]:
  """The paper's packing (Appendix A): documents run on across EOS, every position is trained on."""
  inputs_BL = np.ascontiguousarray(rows_BL1[:, :-1])
  return {"inputs": inputs_BL, "targets": np.ascontiguousarray(rows_BL1[:, 1:]),
          "weights": np.ones(inputs_BL.shape, np.float32)}


def segment_features(rows_BL1: np.ndarray, eos_id: int) -> dict[str, np.ndarray]:
  """Concat features plus per-document segment ids and positions, for document-masked attention.

  A document owns its tokens and its closing EOS. segment_ids count documents from 1 within a row
  (a document cut by the row's start is segment 1) and positions restart at 0 at each segment.
  A position whose target is in the next document (the step from EOS to a new document) gets
  weight 0, since attention masked by segment cannot see what would predict it.
  """
  features = concat_features(rows_BL1)
  seq_len = rows_BL1.shape[1] - 1
  eos_before_BL1 = np.cumsum(rows_BL1 == eos_id, axis=1) - (rows_BL1 == eos_id)
  segments_BL1 = (eos_before_BL1 + 1).astype(np.int32)
  index_L = np.arange(seq_len, dtype=np.int32)
  starts_BL = np.where(np.diff(segments_BL1[:, :-1], axis=1, prepend=0) != 0, index_L, 0)
  positions_BL = index_L - np.maximum.accumulate(starts_BL, axis=1)
  features["segment_ids"] = segments_BL1[:, :-1]
  features["positions"] = positions_BL.astype(np.int32)
  features["weights"] = (segments_BL1[:, 1:] == segments_BL1[:, :-1]).astype(np.float32)
  return features


def row_features(rows_BL1: np.ndarray, packing: str, eos_id: int) -> dict[str, np.ndarray]:
  if packing == "concat":
    return concat_features(rows_BL1)
  return segment_features(rows_BL1, eos_id)
