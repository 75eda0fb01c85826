"""What an export learned, gathered as answers arrive: values into the table (or into
whatever takes the rows, ``Rows``), and for every post that has none, why (the API's
reason), listed at the end of the output."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from automation.core.metric_table import MetricTable
from automation.x.engagement_client import FetchResult

__all__ = ["FORBIDDEN", "UNAVAILABLE", "Joined", "Rows", "TableRows", "Tally"]

UNAVAILABLE = "Tweet ID(s) are unavailable (deleted, protected, or its author suspended)"
FORBIDDEN = (
    "Forbidden to access tweets with {account}'s token: not its post, so read with the "
    "app's bearer token (public metrics only)"
)
# "3 Tweet ID(s) are unavailable": each of them is listed with its reason already
_COUNT_OF_UNAVAILABLE = re.compile(r"\d+ tweet id\(s\) are unavailable", re.IGNORECASE)


# ``EngagementResult.joined``: the metrics, and each post's counts of them joined
Joined = tuple[tuple[str, ...], Sequence[str]]


class Rows(Protocol):
    """What takes each post's values as answers arrive (the table, or rows written
    straight from the answers); each post is answered once, with its account settled
    (``account``: the owner of every post given, None: public)."""

    def put_all(self, answers: Mapping[str, Mapping[str, float]], account: str | None) -> None:
        """Posts' counts as numbers."""
        ...

    def put_texts(
        self,
        answers: Mapping[str, Mapping[str, str]],
        account: str | None,
        joined: Joined | None = None,
    ) -> None:
        """Posts' counts as the API wrote them: whole numbers, written plainly. ``joined``:
        the parse's ``EngagementResult.joined`` of these very answers, if it has them."""
        ...


class TableRows:
    """``Rows`` into a ``MetricTable``: texts are read as numbers."""

    def __init__(self, table: MetricTable) -> None:
        self._table = table

    def put_all(self, answers: Mapping[str, Mapping[str, float]], account: str | None) -> None:
        self._table.put_all(answers)

    def put_texts(
        self,
        answers: Mapping[str, Mapping[str, str]],
        account: str | None,
        joined: Joined | None = None,
    ) -> None:
        self._table.put_all({p: {m: float(c) for m, c in v.items()} for p, v in answers.items()})


@dataclass
class Tally:
    """``problems``: post -> why it has no values, or fewer than asked. ``errors``: other
    messages the API sent, once each. ``failed``: requests that failed for good, as
    (message, how many posts they held). Values go to ``rows``: ``TableRows(table)``, or
    rows written straight from the answers (then the table stays empty)."""

    table: MetricTable
    owner: dict[str, str]
    rows: Rows
    problems: dict[str, str] = field(default_factory=dict)
    errors: dict[str, None] = field(default_factory=dict)
    failed: list[tuple[str, int]] = field(default_factory=list)
    sent: int = 0

    def put(self, post_id: str, values: Mapping[str, float]) -> None:
        """One post's values, not from a /totals answer (a sum over a period)."""
        self.rows.put_all({post_id: values}, self.owner.get(post_id))

    def add(self, result: FetchResult, account: str | None, asked: Collection[str]) -> None:
        """Take in one request's answer (``account``: whose token it used; ``asked``: the
        posts it asked for). Only the posts it asked for take its values and, when
        refused to ``account``, become public: the plan asks for each post once, so each
        post's values and owner are settled by one answer, before its values go on: the
        posts it asked for are ``account``'s, but for those refused to it."""
        wanted = set(asked)
        for post_id in result.unavailable:
            self.problems[post_id] = UNAVAILABLE
        for post_id in result.forbidden:
            self.problems.setdefault(post_id, FORBIDDEN.format(account=account))
        public = wanted.intersection(result.forbidden)
        for post_id in public:
            self.owner.pop(post_id, None)  # it is public after all
        if result.totals:
            _put(self.rows.put_all, _only(result.totals, wanted), account, public)
        texts = _only(result.texts, wanted)
        if texts is result.texts and result.joined and public.isdisjoint(texts):
            self.rows.put_texts(texts, account, result.joined)  # the usual answer, as parsed
        elif texts:
            _put(self.rows.put_texts, texts, account, public)
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


_V = TypeVar("_V")


def _put(
    put: Callable[[Mapping[str, _V], str | None], None],
    answers: Mapping[str, _V],
    account: str | None,
    public: set[str],
) -> None:
    """``put`` the ``answers`` as ``account``'s, those of the ``public`` posts as public."""
    if public.isdisjoint(answers):  # nearly always: no post looked up
        put(answers, account)
        return
    put({pid: v for pid, v in answers.items() if pid not in public}, account)
    put({pid: v for pid, v in answers.items() if pid in public}, None)


def _only(answers: Mapping[str, _V], wanted: set[str]) -> Mapping[str, _V]:
    """``answers`` of the ``wanted`` posts (all of them, nearly always)."""
    if wanted.issuperset(answers):
        return answers
    return {pid: values for pid, values in answers.items() if pid in wanted}
