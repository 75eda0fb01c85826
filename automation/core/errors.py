"""The one exception tree of Engagement Automation.

Every error the package raises on purpose derives from ``AutomationError``, so the command
line can catch one class, print its message and choose an exit code, and never show a
traceback for something a user caused. Each class says what the user needs to fix it.

    AutomationError
    ├── UsageError               bad command-line use                          (exit 2)
    ├── ConfigError              unusable config file: file, line, key          (exit 2)
    ├── RuleError                rule files with problems: a list of Problems   (exit 1)
    ├── TemplateError            a bad action template (carried inside Problems)
    ├── ApiError                 the X APIs failed or lied; says if retrying helps
    │   ├── TransportFailed      network error or timeout                      (retryable)
    │   ├── RateLimited          429 or budget spent; carries retry_after      (retryable)
    │   ├── ServerFailed         5xx                                           (retryable)
    │   ├── AuthFailed           401/403, bad or missing credentials           (not retryable)
    │   ├── RequestRejected      400/404/406 and other 4xx                     (not retryable)
    │   └── MalformedResponse    a body that is not the documented shape       (retryable)
    ├── ActionFailed             an action could not be performed; retryable or dead
    └── StoreError               the state database cannot be used
        ├── DatabaseUnreachable  the PostgreSQL connection failed; the next use retries
        ├── EngineLocked         another engine holds the database
        ├── LeadershipLost       another engine leads the database now (PostgreSQL)
        ├── SchemaOutdated       the database needs ``automation migrate``
        └── SchemaNewer          a newer version migrated the database

Messages never contain secret values: errors are built from names (``${X_BEARER_TOKEN}``,
account names) and from responses, which never echo credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automation.core.wording import shown_path

__all__ = [
    "ActionFailed",
    "ApiError",
    "AuthFailed",
    "AutomationError",
    "ConfigError",
    "DatabaseUnreachable",
    "EngineLocked",
    "LeadershipLost",
    "MalformedResponse",
    "Problem",
    "RateLimited",
    "RequestRejected",
    "RuleError",
    "SchemaNewer",
    "SchemaOutdated",
    "ServerFailed",
    "StoreError",
    "TemplateError",
    "TransportFailed",
    "UsageError",
]


class AutomationError(Exception):
    """Root of every error raised on purpose; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(AutomationError):
    """The command line itself is wrong."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One finding in a user-written file, printed as ``PATH:LINE:COL: SEVERITY: MESSAGE``.

    ``line`` and ``column`` are 1-based, as editors count them.
    """

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = shown_path(self.path)
        return f"{where}:{self.line}:{self.column}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class ConfigError(AutomationError):
    """The config file cannot be used; the message names the file, line and key."""

    exit_code = 2

    def __init__(self, message: str, *, path: str = "", line: int = 0, key: str = "") -> None:
        self.path, self.line, self.key = path, line, key
        shown = shown_path(path)
        where = f"{shown}:{line}: " if path and line else (f"{shown}: " if path else "")
        super().__init__(f"{where}{message}")


class RuleError(AutomationError):
    """One or more rule files have errors; ``problems`` holds every one of them."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class TemplateError(AutomationError):
    """A template in an action is malformed or names something unknown.

    ``offset`` is the character offset inside the template string, so callers can turn
    it into a column.
    """

    def __init__(self, message: str, offset: int = 0) -> None:
        self.offset = offset
        super().__init__(message)


class ApiError(AutomationError):
    """A call to an X API failed. ``retryable`` says whether trying again can help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class TransportFailed(ApiError):
    """The request did not get an answer: connection refused, reset, or timed out."""

    retryable = True


class RateLimited(ApiError):
    """The API said slow down (429), or the local budget is spent for now."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status)


class ServerFailed(ApiError):
    """The API answered with a 5xx."""

    retryable = True


class AuthFailed(ApiError):
    """Credentials are wrong, missing or not allowed for this request (401/403)."""


class RequestRejected(ApiError):
    """The API refused the request itself (400, 404, 406 and other 4xx)."""


class MalformedResponse(ApiError):
    """The body is not JSON, is truncated, or is not the documented shape."""

    retryable = True


class ActionFailed(AutomationError):
    """An action (repost, webhook, ...) failed; ``retryable`` decides retry or dead."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(AutomationError):
    """The state database cannot be opened or used."""

    exit_code = 2


class DatabaseUnreachable(StoreError):
    """The connection to a PostgreSQL database failed or cannot be made. The next use
    connects again; an engine that acts ends its cycle there, and its election says, in
    one line, that the database is gone."""


class EngineLocked(StoreError):
    """Another engine already runs against this database."""


class LeadershipLost(StoreError):
    """This engine no longer leads: another one took over, so what it was about to write
    is refused and it stands by."""


class SchemaOutdated(StoreError):
    """The database's schema is older than this engine's and the config does not let it
    migrate on its own: ``automation migrate`` brings it up to date."""


class SchemaNewer(StoreError):
    """A newer version migrated the database: this one does not know all of its schema,
    so it refuses to read or write it rather than misread or damage what it holds."""

    def __init__(self, database: object, unknown: Sequence[str]) -> None:
        super().__init__(
            f"the database {shown_path(str(database))} was brought up to date by a newer version"
            " of automation"
            f" ({len(unknown)} migration(s) this version does not know: {', '.join(unknown)}):"
            " run that version, or this one against a backup from before the upgrade"
        )
