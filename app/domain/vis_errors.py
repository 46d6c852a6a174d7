"""Errors of the VIS domain; the VIS face maps each class to its status code (400, 404, 409)."""

from __future__ import annotations

from typing import Any


class VisDomainError(ValueError):
    """A refused VIS operation; the face maps the subclass to a status code."""

    def __init__(self, message: str, error_type: str, **data: Any) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.data = data


class VisValidation(VisDomainError):
    """The request is malformed or out of range (400)."""


class VisNotFound(VisDomainError):
    """An id that this API key cannot see (404)."""


class VisConflict(VisDomainError):
    """The request clashes with the current state (409)."""
