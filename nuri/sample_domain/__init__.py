"""Bundled synthetic sample domain "welfare" (보건복지 / 복지 상담).

``python -m nuri.sample_domain --out domains/welfare/data`` regenerates the
committed sample data deterministically (seeded ``random.Random``). All content
is synthetic: programme facts are plausible but simplified, and all personal
data (resident registration numbers, phone numbers, e-mail addresses) is random.
"""

from .generate import DEFAULT_SEED, build, write

__all__ = ["DEFAULT_SEED", "build", "write"]
