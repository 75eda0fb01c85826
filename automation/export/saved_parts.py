"""What an export already fetched, kept in the store for a day so that running the same
command again resumes instead of asking the API twice.

A run is named by a hash of what the command asked for (its listed IDs, accounts,
metrics and period); each part by a hash of one planned request. Answers are written in
batches, one transaction each: once the oldest waiting answer is ``FLUSH_EVERY`` old, and
whenever fetching stops (``flush``, Ctrl-C included). So Ctrl-C at any moment loses at
most the request in flight, a crash at most a second's answers, and a fast run does not
pay a durable commit per answer. A run that finishes forgets its parts: the next run
reads fresh numbers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import chain
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from automation.store.base import Store
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest, request_json

__all__ = ["FLUSH_EVERY", "KEEP", "SavedParts", "part_name", "run_key"]

KEEP = timedelta(days=1)
FLUSH_EVERY = timedelta(seconds=1)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def run_key(*fields: str | Iterable[str]) -> str:
    """A short stable name for a run from what identifies it."""
    digest = hashlib.sha256()
    for item in fields:
        text = item if isinstance(item, str) else "\n".join(item)
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def part_name(request: EngagementRequest) -> str:
    """A short stable name for one request: a hash of its endpoint, account and the body
    it sends (``json.dumps`` of the body with sorted keys cost four times as much)."""
    digest = hashlib.sha256(f"{request.endpoint}\x00{request.account or ''}\x00".encode())
    digest.update(request_json(request))
    return digest.hexdigest()[:32]


class SavedParts:
    """The saved parts of one run. Opening it forgets every part older than a day."""

    def __init__(self, store: Store, run: str, now: datetime) -> None:
        self._store, self._run = store, run
        store.forget_export_parts(before=now - KEEP)
        self._saved = store.export_parts(run, now - KEEP)
        self._waiting: list[tuple[str, datetime, str]] = []

    def __len__(self) -> int:
        return len(self._saved)

    def text(self, name: str) -> str | None:
        return self._saved.get(name)

    def result(self, name: str) -> FetchResult | None:
        """A saved answer, as the client gave it (without what it did not keep)."""
        text = self._saved.pop(name, None)
        return None if text is None else _decoded(text)

    def save_text(self, name: str, text: str, at: datetime) -> None:
        """Keep ``text`` now (with any answers waiting to be written)."""
        self._waiting.append((name, at, text))
        self.flush()

    def save_result(
        self, name: str, result: FetchResult, metrics: Sequence[str], at: datetime
    ) -> None:
        """Keep one request's answer (``metrics``: those it asked for), written with the
        others of its batch: now if the oldest waiting one is ``FLUSH_EVERY`` old."""
        self._waiting.append((name, at, _encoded(result, metrics)))
        if at - self._waiting[0][1] >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write every answer still waiting, in one transaction."""
        if self._waiting:
            batch, self._waiting = self._waiting, []
            self._store.save_export_parts(self._run, batch)

    def finish(self) -> None:
        """The run is complete: forget its parts (and those still waiting)."""
        self._waiting.clear()
        self._store.forget_export_parts(run=self._run)


def _encoded(result: FetchResult, metrics: Sequence[str]) -> str:
    """The answer as JSON whose values are one block: base64 doubles (``v``), or the
    counts' texts joined (``t``) when the client kept them as sent; a row of ``metrics``
    per post (NaN or an empty text: not given). A tenth of the cost of JSON numbers, and
    exact."""
    ids, key, block = _block(result, metrics)
    # the object json.dumps would write, but the two long texts (digits and commas, base64)
    # put in as they are: json.dumps scanned them for characters to escape, a third of
    # the cost
    return _PART % (
        _json(list(metrics)),
        ",".join(ids),
        key,
        block,
        _json(sorted(result.unavailable)),
        _json(sorted(result.forbidden)),
        _json(list(result.errors)),
    )


def _block(result: FetchResult, metrics: Sequence[str]) -> tuple[Iterable[str], str, str]:
    """The answer's post IDs, the key of its values and their block."""
    totals, texts = result.totals, result.texts
    if texts and not totals:
        joined = result.joined  # the parse's, when its posts hold exactly these metrics
        if joined is not None and joined[0] == tuple(metrics):
            return texts, "t", ",".join(joined[1])
        return texts, "t", ",".join(_flat(texts, metrics, ""))
    if texts:  # both (rare: a post read again as public): all as numbers
        totals = {**totals, **{p: {m: float(c) for m, c in v.items()} for p, v in texts.items()}}
    flat = _flat(totals, metrics, math.nan)
    values = struct.pack(f"={len(flat)}d", *flat)  # as array("d").tobytes(), in one call
    return totals, "v", base64.b64encode(values).decode("ascii")


def _flat(answers: Mapping[str, Mapping[str, Any]], metrics: Sequence[str], gap: Any) -> list[Any]:
    """Each post's values of ``metrics`` in a row, ``gap`` for those not given."""
    rows = map(itemgetter(*metrics), answers.values())
    try:  # the usual answer: every post has every metric asked for
        return list(chain.from_iterable(rows) if len(metrics) > 1 else rows)
    except KeyError:
        return [v.get(m, gap) for v in answers.values() for m in metrics]


_PART = '{"m":%s,"i":"%s","%s":"%s","u":%s,"f":%s,"e":%s}'


# what json.dumps(value, separators=(",", ":")) writes, without a new encoder each call
# (four short lists an answer: 0.011 s of 400 answers' 0.04)
_json = json.JSONEncoder(separators=(",", ":")).encode


def _decoded(text: str) -> FetchResult:
    data = json.loads(text)
    metrics: list[str] = data["m"]
    ids = data["i"].split(",") if data["i"] else []
    k = len(metrics)
    totals: dict[str, Mapping[str, float]] = {}
    texts: dict[str, Mapping[str, str]] = {}
    if "t" in data:
        counts = data["t"].split(",")
        texts = {
            pid: {m: c for m, c in zip(metrics, counts[i * k : i * k + k], strict=True) if c}
            for i, pid in enumerate(ids)
        }
    else:
        flat = array("d")
        flat.frombytes(base64.b64decode(data["v"]))
        totals = {
            pid: {m: v for m, v in zip(metrics, flat[i * k : i * k + k], strict=True) if v == v}
            for i, pid in enumerate(ids)
        }
    return FetchResult(
        totals=totals,
        texts=texts,
        hourly=_EMPTY,
        unavailable=frozenset(data["u"]),
        unsupported=_EMPTY,
        forbidden=frozenset(data["f"]),
        errors=tuple(data["e"]),
        failures=(),
    )
