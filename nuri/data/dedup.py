"""Exact and near-duplicate detection, one document at a time (streaming).

Exact: sha256 of the cleaned text. Near: MinHash signatures of word n-gram shingles
(character 5-grams for short texts) in a MinHash LSH index (datasketch); a candidate
counts as a duplicate only when its estimated Jaccard similarity reaches the threshold.
State grows with the number of *kept* documents (a digest and a small signature each),
not with their size."""

from __future__ import annotations

import hashlib
import struct


def _hash32(b: bytes) -> int:
    return struct.unpack("<I", hashlib.blake2b(b, digest_size=4).digest())[0]


def shingles(text: str, words: int = 3) -> set[bytes]:
    toks = text.split()
    if len(toks) >= words * 3:
        return {" ".join(toks[i:i + words]).encode("utf-8") for i in range(len(toks) - words + 1)}
    flat = " ".join(toks)
    k = 5
    if len(flat) <= k:
        return {flat.encode("utf-8")} if flat else set()
    return {flat[i:i + k].encode("utf-8") for i in range(len(flat) - k + 1)}


class Deduplicator:
    """`check(key, text)` -> None (new: remembered) or (reason, key of the earlier copy)."""

    def __init__(self, *, near: bool = True, threshold: float = 0.8, num_perm: int = 64,
                 shingle_words: int = 3):
        self.exact: dict[str, str] = {}
        self.near = near
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self._sigs: dict[int, tuple] = {}
        if near:
            from datasketch import MinHash, MinHashLSH

            self._MinHash = MinHash
            self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
            self._seed_mh = MinHash(num_perm=num_perm, seed=1, hashfunc=_hash32)

    def minhash(self, text: str):
        mh = self._MinHash(num_perm=self.num_perm, seed=1, hashfunc=_hash32,
                           permutations=self._seed_mh.permutations, scheme=self._seed_mh.scheme)
        sh = shingles(text, self.shingle_words)
        if sh:
            mh.update_batch(list(sh))
        return mh

    def check(self, key: str, text: str) -> tuple[str, str] | None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest in self.exact:
            return "exact_duplicate", self.exact[digest]
        if self.near:
            mh = self.minhash(text)
            for other in self._lsh.query(mh):
                if mh.jaccard(self._sigs[other][1]) >= self.threshold:
                    return "near_duplicate", self._sigs[other][0]
            slot = len(self._sigs)
            self._lsh.insert(slot, mh)
            self._sigs[slot] = (key, mh)
        self.exact[digest] = key
        return None
