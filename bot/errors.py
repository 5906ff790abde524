"""Errors a person can act on.

Services raise these; the one error handler in the command tree turns them into a friendly, private
reply. Anything else is a bug: it is logged with an error id instead.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected problem, explained in words a student or teacher understands."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConfigured(UserFacingError):
    """The class has not been set up with `/setup` yet."""

    def __init__(self) -> None:
        super().__init__(
            "This class isn't set up yet. A teacher (or someone with Manage Server) can run "
            "`/setup` to get started."
        )


class NotTeacher(UserFacingError):
    """Only the class's teacher role (or Manage Server) may do this."""

    def __init__(self, action: str = "do that") -> None:
        super().__init__(f"Only a teacher can {action}.")


class InvalidInput(UserFacingError):
    """Input that fails validation (too long, unknown subject, wrong format...)."""


class NotFound(UserFacingError):
    """The thing the person refers to does not exist (any more)."""


class Conflict(UserFacingError):
    """The action clashes with the current state (already taken, already open...)."""


class RateLimited(UserFacingError):
    """The person is doing this too often."""
