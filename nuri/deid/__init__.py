"""Korean de-identification: find personal and sensitive data in text and replace it.

    from nuri.deid import Deidentifier, DeidConfig
    deid = Deidentifier(DeidConfig(mode="placeholder"))
    red = deid.redact("연락처 010-1234-5678")   # red.text == "연락처 [PHONE]", red.counts == {"PHONE": 1}

Counts and reports name types only, never the values found.
"""

from nuri.deid.config import DeidConfig, SensitivePattern
from nuri.deid.engine import Deidentifier, Redaction, deidentify
from nuri.deid.replace import PseudonymKeyMissing
from nuri.deid.stream import BadInput, redact_documents
from nuri.deid.pii_types import BUILTIN_TYPES, Finding

__all__ = [
    "BUILTIN_TYPES", "BadInput", "DeidConfig", "Deidentifier", "Finding", "PseudonymKeyMissing",
    "Redaction", "SensitivePattern", "deidentify", "redact_documents",
]
