"""What an export learned, gathered as answers arrive: values into the table, and for
every post that has none, why (the API's reason), listed at the end of the output."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from automation.core.metric_table import MetricTable
from automation.x.engagement_client import FetchResult

__all__ = ["FORBIDDEN", "UNAVAILABLE", "Tally"]

UNAVAILABLE = "Tweet ID(s) are unavailable (deleted, protected, or its author suspended)"
FORBIDDEN = (
    "Forbidden to access tweets with {account}'s token: not its post, so read with the "
    "app's bearer token (public metrics only)"
)
# "3 Tweet ID(s) are unavailable": each of them is listed with its reason already
_COUNT_OF_UNAVAILABLE = re.compile(r"\d+ tweet id\(s\) are unavailable", re.IGNORECASE)


@dataclass
class Tally:
    """``problems``: post -> why it has no values, or fewer than asked. ``errors``: other
    messages the API sent, once each. ``failed``: requests that failed for good, as
    (message, how many posts they held)."""

    table: MetricTable
    owner: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)
    errors: dict[str, None] = field(default_factory=dict)
    failed: list[tuple[str, int]] = field(default_factory=list)
    sent: int = 0

    def add(self, result: FetchResult, account: str | None) -> None:
        """Take in one request's answer (``account``: whose token it used)."""
        self.table.put_all(result.totals)
        for post_id in result.unavailable:
            self.problems[post_id] = UNAVAILABLE
        for post_id in result.forbidden:
            self.problems.setdefault(post_id, FORBIDDEN.format(account=account))
            self.owner.pop(post_id, None)  # it is public after all
        self.errors.update(
            dict.fromkeys(e for e in result.errors if not _COUNT_OF_UNAVAILABLE.fullmatch(e))
        )
        self.sent += result.requests_sent

    def fail(self, message: str, post_ids: Sequence[str]) -> None:
        """A request failed for good: its posts have no values, for this reason."""
        self.failed.append((message, len(post_ids)))
        for post_id in post_ids:
            self.problems.setdefault(post_id, f"not read: {message}")

    @property
    def complete(self) -> bool:
        return not self.failed
