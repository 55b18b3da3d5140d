"""An in-project caption tokenizer: lower-cased words and numbers hashed into a fixed vocabulary.

No vocabulary file is fitted or downloaded: a word's id is a stable hash (crc32) of the word,
so any caption, including words never seen in training, gets ids, and the same caption gets
the same ids on every machine. Ids 0 and 1 are padding and beginning-of-caption.
"""
from __future__ import annotations

import re
import zlib

import torch

PAD, BOS = 0, 1
N_SPECIAL = 2
_WORD = re.compile(r"\d+(?:\.\d+)?|[a-z]+")


def words(caption: str) -> list[str]:
    return _WORD.findall(caption.lower())


def encode(caption: str, vocab_size: int, max_len: int) -> list[int]:
    """BOS then one id per word, cut to max_len (no padding)."""
    ids = [BOS] + [N_SPECIAL + zlib.crc32(w.encode()) % vocab_size for w in words(caption)]
    return ids[:max_len]


def encode_batch(captions: list[str], vocab_size: int, max_len: int) -> torch.Tensor:
    """(B, max_len) int64 ids padded with PAD."""
    out = torch.full((len(captions), max_len), PAD, dtype=torch.long)
    for i, c in enumerate(captions):
        ids = encode(c, vocab_size, max_len)
        out[i, :len(ids)] = torch.tensor(ids)
    return out
