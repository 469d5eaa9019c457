"""The language model of the tiny VLM: a transformers Llama from a tiny config."""

from __future__ import annotations

from typing import Any

from torch import nn

from ...contracts import Int, contract


@contract(hidden_size=Int(min=1), layers=Int(min=1), heads=Int(min=1), intermediate_size=Int(min=1),
          max_positions=Int(min=2))
def tiny_llama(tokenizer: Any, *, hidden_size: int = 128, layers: int = 2, heads: int = 4,
               intermediate_size: int = 256, max_positions: int = 128) -> nn.Module:
    """A transformers ``LlamaForCausalLM`` from a tiny config: the same class that loads
    real Llama checkpoints, at about 0.3 M parameters. Its vocabulary size and its
    padding, start and end ids come from ``tokenizer``.
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    missing = [k for k in ("pad_token_id", "bos_token_id", "eos_token_id") if getattr(tokenizer, k, None) is None]
    if missing:
        raise ValueError(f"tokenizer must define {missing} (e.g. data.instructions.shapes_chat_tokenizer())")
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config)
