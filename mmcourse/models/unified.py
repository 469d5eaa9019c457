"""The unified decoder: one transformers causal LM over a vocabulary of text and image tokens.

Early fusion (Chameleon, 2024, §2) needs no new architecture: a decoder-only transformer
whose embedding table and output head cover every modality's ids. Here that is
transformers' ``LlamaForCausalLM`` from a tiny config (Chameleon's own architecture is
Llama-2's with query-key normalisation, §2.3), so the code that trains and samples it is the
code that runs a real checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..contracts import Instance, contract


@dataclass
class UnifiedConfig:
    """A tiny Llama over ``vocab_size`` ids (text + specials + image codes).

    Used in: chapter 06
    """

    vocab_size: int
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 384
    max_position_embeddings: int = 96
    pad_token_id: int = 0
    bos_token_id: int = 2
    eos_token_id: int = 3

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"num_attention_heads={self.num_attention_heads} must divide "
                             f"hidden_size={self.hidden_size}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ValueError(f"{name}={getattr(self, name)} must lie in [0, vocab_size={self.vocab_size})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_model(cls, model: Any) -> UnifiedConfig:
        """The config that builds ``model`` (a ``LlamaForCausalLM`` from :func:`build_unified`)."""
        c = model.config
        return cls(**{name: getattr(c, name) for name in cls.__dataclass_fields__})


@contract(config=Instance(UnifiedConfig, "a UnifiedConfig"))
def build_unified(config: UnifiedConfig) -> Any:
    """transformers ``LlamaForCausalLM`` of ``config`` (tied input and output embeddings).

    Used in: chapter 06
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**config.to_dict(), num_key_value_heads=config.num_attention_heads,
                                        tie_word_embeddings=True))
