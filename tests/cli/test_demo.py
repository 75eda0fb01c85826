"""The demo a new user runs first: it must show seeding, a firing, a repost, a retried
signed webhook and a milestone, and end with a summary, all on 127.0.0.1."""

from __future__ import annotations

import io

from automation.cli.demo import run_demo


def test_the_demo_shows_the_whole_story_and_exits_0() -> None:
    out = io.StringIO()
    assert run_demo(seconds=0, out=out) == 0
    text = out.getvalue()
    assert "seeded example-repost-likes" in text
    assert "FIRED example-repost-likes" in text
    assert "why: fired: likes >= 100 is true" in text
    assert "-> repost as support at the sandbox: done" in text
    assert "-> webhook retry: webhook to https://chat.example.com answered 503" in text
    assert "signature verified" in text and "INVALID" not in text
    assert "FIRED example-like-milestones" in text
    assert "passed 1000 likes" in text
    summary = text[text.index("summary") :]
    assert "reposts recorded at the sandbox: 1" in summary
    assert "2 with a valid signature, 1 refused on purpose and retried" in summary
