"""The rule engine: declared rules, run in dependency order, reading knowledge through a tracer.

Inspired by openfisca's formulas and tracer. A rule is a small function with a code, the names
of the values it reads (``needs``) and the value or finding sections it produces (``gives``)::

    @rule("referral.young_child", gives=("referral",), needs=())
    def young_child(c: Context) -> Finding | None:
        \"\"\"Under the age limit a doctor decides (the parameter's source).\"\"\"
        limit = c.param("young_child_below_age")
        if c.intake.person.age >= limit:
            return None
        return c.finding(severity="critical", age=c.intake.person.age)

The finding's sources are exactly the sources of what the rule read through the context
(parameters, statements, facts), and each rule that produced something leaves one step in the
advice's trace with the facts it read. The engine knows no language: rendering does.
"""

from mgadvisor.engine.context import Context
from mgadvisor.engine.registry import REGISTRY, SECTIONS, Registry, Rule, rule

__all__ = ["REGISTRY", "SECTIONS", "Context", "Registry", "Rule", "rule"]
