"""What every command says of a rule ID it does not know."""

from __future__ import annotations

from automation.core.wording import no_rule


def test_an_unknown_rule_names_the_known_ones() -> None:
    assert no_rule("likes-10O", ["reposts-10", "likes-100"]) == (
        "no rule 'likes-10O' (did you mean 'likes-100'? rules: likes-100, reposts-10)"
    )
    assert no_rule("x", []) == "no rule 'x' (rules: none loaded)"


def test_among_300_rules_it_names_twelve_and_counts_the_others() -> None:
    # A deployment of 300 rules got all 300 IDs on one line of about 4,000 characters.
    known = [f"r{i:03d}-likes" for i in range(300)]
    assert no_rule("r1000-likes", known) == (
        "no rule 'r1000-likes' (did you mean 'r100-likes'? rules: "
        + ", ".join(f"r{i:03d}-likes" for i in range(12))
        + ", and 288 more in the rule files)"
    )
