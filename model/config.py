"""Model hyperparameters: one gin-configurable dataclass, validated once."""

import dataclasses

import gin

from rundir import fields

QK_LAYERNORM = ("none", "per_head", "full")
ATTN_LOGIT_SCALES = ("rsqrt_head_dim", "inv_head_dim")
ATTENTIONS = ("softmax", "squared_relu")
MUPS = ("none", "simple", "intermediate", "full")
COMPUTE_DTYPES = ("float32", "bfloat16")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Decoder-only pre-LN Transformer of Section 2.1, with every Section 3 knob.

  Attributes:
    vocab_size: embedding rows; set by the trainer from the dataset.
    d_model: residual width D.
    num_layers: Transformer blocks; 0 is the bigram model of Fig 10.
    num_heads: attention heads H.
    d_head: head dim; None means d_model // num_heads.
    mlp_ratio: MLP hidden width in units of d_model (4 in the paper).
    qk_layernorm: 'per_head' (scale of size d_head shared by heads, Fig E.8),
      'full' (scale of size H * d_head) or 'none'.
    attn_logit_scale: 'rsqrt_head_dim' (1/sqrt(d_h)) or 'inv_head_dim'
      (1/d_h, Fig E.6 and muParam full).
    attention: 'softmax' or 'squared_relu' (pointwise, scaled by
      1/sqrt(seq_len), Fig E.11).
    kappa: if set, queries and keys are mapped to sqrt(kappa) z / RMS(z)
      before the logits (the transplant of Fig 10); logits are then
      kappa sqrt(d_h) cos(q, k), std ~kappa at init (transformer._to_rms).
    mup: 'none', 'simple', 'intermediate' or 'full' (Section 3.2.4, Fig E.5). At
      d_model == mup_base_width all LR multipliers and the head init scale are 1, so
      'simple' and 'intermediate' are the standard model bit for bit; 'full' still
      zero-inits the queries and scales logits by 1/d_h.
    mup_base_width: d_model of the base model muParam is relative to (Section 3.2.4: the
      smallest model tested, width 256); each layer's base fan-in is its fan-in in that model.
    compute_dtype: activations dtype; parameters are always float32.
    layernorm_eps: LayerNorm epsilon (Flax's default, as in the paper).
  """

  vocab_size: int = 0
  d_model: int = gin.REQUIRED
  num_layers: int = gin.REQUIRED
  num_heads: int = gin.REQUIRED
  d_head: int | None = None
  mlp_ratio: int = 4
  qk_layernorm: str = "per_head"
  attn_logit_scale: str = "rsqrt_head_dim"
  attention: str = "softmax"
  kappa: float | None = None
  mup: str = "none"
  mup_base_width: int = 256
  compute_dtype: str = "float32"
  layernorm_eps: float = 1e-6

  def __post_init__(self):
    fields.check(self, "ModelConfig")
    _check_choice("qk_layernorm", self.qk_layernorm, QK_LAYERNORM)
    _check_choice("attn_logit_scale", self.attn_logit_scale, ATTN_LOGIT_SCALES)
    _check_choice("attention", self.attention, ATTENTIONS)
    _check_choice("mup", self.mup, MUPS)
    _check_choice("compute_dtype", self.compute_dtype, COMPUTE_DTYPES)
    for name in ("d_model", "num_heads", "mlp_ratio", "mup_base_width"):
      if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
        raise ValueError(
            f"ModelConfig.{name}={getattr(self, name)!r}: expected a positive integer")
    if not isinstance(self.num_layers, int) or self.num_layers < 0:
      raise ValueError(
          f"ModelConfig.num_layers={self.num_layers!r}: expected an integer >= 0")
    if self.d_head is not None and self.d_head < 1:
      raise ValueError(f"ModelConfig.d_head={self.d_head!r}: expected a positive integer or None")
    if not self.layernorm_eps > 0:
      raise ValueError(f"ModelConfig.layernorm_eps={self.layernorm_eps!r}: expected a positive number")
    if self.d_head is None and self.d_model % self.num_heads:
      raise ValueError(
          f"num_heads={self.num_heads} does not divide d_model={self.d_model}: "
          "expected d_model % num_heads == 0 (or set ModelConfig.d_head)")
    if self.head_dim % 2:
      raise ValueError(f"head dim {self.head_dim} is odd: rotary embeddings expect an even head dim")
    if self.kappa is not None and self.kappa <= 0:
      raise ValueError(f"ModelConfig.kappa={self.kappa!r}: expected a positive number or None")

  @property
  def head_dim(self) -> int:
    return self.d_head if self.d_head is not None else self.d_model // self.num_heads

  @property
  def logit_scale(self) -> float:
    """1/sqrt(d_h) (Vaswani et al.), or 1/d_h when asked for or under muParam (full)."""
    if self.attn_logit_scale == "inv_head_dim" or self.mup == "full":
      return 1.0 / self.head_dim
    return self.head_dim ** -0.5

  @property
  def attn_width(self) -> int:
    return self.num_heads * self.head_dim


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise ValueError(f"ModelConfig.{name}={value!r}: expected one of {', '.join(choices)}")
