"""Errors the simulated REST API answers with, shaped like Discord's JSON errors."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error response: HTTP status plus Discord's JSON ``{"code", "message"}`` body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord would send."""
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def unknown(kind: str, code: int) -> ApiError:
    """404 Unknown X (e.g. ``unknown("Channel", 10003)``)."""
    return ApiError(404, code, f"Unknown {kind}")


def invalid_form(field: str, message: str) -> ApiError:
    """400 Invalid Form Body with one field error."""
    errors = {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}}
    return ApiError(400, 50035, "Invalid Form Body", errors)


MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
MISSING_ACCESS = (403, 50001, "Missing Access")
