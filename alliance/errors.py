"""One error tree for the whole project.

Edges (the CLI, jobs, the web app) translate these into exit statuses, retries or HTTP
answers; the domain only raises them. Bad-input errors also subclass ``ValueError`` so
plain Python callers can catch them the usual way.
"""

from __future__ import annotations


class AllianceError(Exception):
    """Root of every error this project raises on purpose."""


class RetriableError(AllianceError):
    """Something outside us failed for now; the same call may succeed later."""


class FatalError(AllianceError):
    """Retrying will not help: a person has to change something (keys, settings, files)."""


class BadInputError(AllianceError, ValueError):
    """Data we were given is wrong; the message names the thing and what to do."""


class ConfigError(FatalError):
    """A setting or environment variable is missing or invalid."""


class AgreementError(BadInputError):
    """The agreement file has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class OrderDataError(BadInputError):
    """One order from a storefront or a file cannot be used as it is."""

    def __init__(
        self, order: str, field: str, message: str, *, external_id: str | None = None
    ) -> None:
        self.order = order
        self.field = field
        self.message = message
        self.external_id = external_id  # the store's id, when the order had a usable one
        super().__init__(f"order {order}: {field}: {message}")


class Problem:
    """One problem in a file: ``FILE:LINE: key: what is wrong``."""

    __slots__ = ("file", "key", "line", "message")

    def __init__(self, file: str, line: int, key: str, message: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self!s})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))
