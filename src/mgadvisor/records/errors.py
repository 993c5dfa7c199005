"""The errors of the records layer."""

from __future__ import annotations

from mgadvisor.errors import MgAdvisorError, UserInputError, invalid_value


class RecordsError(MgAdvisorError):
    """Base of the records layer's errors. A subclass that a user may see sets `msgid` (an
    English message template, marked with N_) and `params`, so adapters can translate it."""

    msgid: str = "{reason}"
    params: dict[str, object]

    def as_user_error(self) -> UserInputError:
        """The error as one line for a user, in the adapter's language."""
        params = getattr(self, "params", None) or {"reason": str(self)}
        return UserInputError(self.msgid, **params)


class NotFound(RecordsError):  # noqa: N818  (the name the brief and callers use)
    """No such record for this user: it does not exist, or the user has no care relationship
    with its client. The two are deliberately the same error (guessing an id reveals nothing)."""

    def __init__(self, kind: str, record_id: object) -> None:
        self.kind = kind
        self.record_id = str(record_id)
        super().__init__(f"{kind} {self.record_id} not found")


class InvalidRecord(RecordsError):  # noqa: N818
    """A value that cannot be stored: names the field, what was expected and what was given."""

    def __init__(self, field: str, expected: str, given: object) -> None:
        self.field = field
        self.expected = expected
        self.given = repr(given)[:200]
        # The value given stays an attribute (shown to the user who typed it) and out of the
        # message, which may reach a log: it can be a name, a birth date or an e-mail address.
        super().__init__(f"{field}: expected {expected}")

    def as_user_error(self) -> UserInputError:
        return invalid_value(self.field, self.expected, self.given)


class ConsentRefused(InvalidRecord):
    """The client's consent does not allow this: it was withdrawn, or its scope lacks it."""
