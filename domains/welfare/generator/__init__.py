"""Generator of the synthetic "welfare" sample domain (보건복지 / 복지 상담).

From the repository root, without installing anything beyond the project's requirements:

    python -m domains.welfare.generator --out domains/welfare/data [--seed N]

regenerates the committed sample data deterministically (seeded ``random.Random``).
It is sample data's source, not part of the ``nuri`` runtime (not installed with it).
The knowledge base and the phrase pools are data (the YAML files beside this package);
the modules hold only the logic that composes them. All content is synthetic:
programme facts are plausible but simplified, and all personal data (names, resident
registration numbers, phone numbers, e-mail addresses) is generated, not anyone's.
"""

from .generate import DEFAULT_SEED, build, write

__all__ = ["DEFAULT_SEED", "build", "write"]
