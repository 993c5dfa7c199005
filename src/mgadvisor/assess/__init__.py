"""Assessment rules: from an intake to calculated facts (person, labs, kidneys, medicines,
diet, risk, referrals).

Importing this package registers its rules with :data:`mgadvisor.engine.REGISTRY`; the engine
(:func:`mgadvisor.advise.advise_intake`) runs them with the advice rules in dependency order.
Pure: values in, values out; `as_of` is passed in, never read from a clock.
"""

from __future__ import annotations

# Import order is rule registration order: among rules whose inputs are ready, the earlier
# registered runs first, so findings within a section keep this order.
from mgadvisor.assess import (
    alarms,
    bowel,
    diet,
    kidney,
    labs,
    medication,
    person,
    referral,
    risk,
)

__all__ = ["alarms", "bowel", "diet", "kidney", "labs", "medication", "person", "referral", "risk"]
