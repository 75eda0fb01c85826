"""Generators of condition texts and mappings, and of templates, right and wrong."""

from __future__ import annotations

from fuzz.strategies import METRICS, scalars
from hypothesis import strategies as st

from automation.core.templates import FIXED_NAMES

# ------------------------------------------------------------------ conditions

_OPS = [">=", ">", "<=", "<", "==", "=", "!=", "=>", "=<", "!", "<>", "==="]
# fmt: off
_WORDS = [
    "over", "and", "or", "&&", "likes", "Likes", "likez", "engagement_rate", "1h", "0s", "29h",
    "28h", "1d", "h", "-5m", "100", "1e400", "1e-3", "nan", "inf", "-0", ".5", "5.", "0x1f",
    "1_000", "9" * 25, "'", '"', "{", "}",
]
# fmt: on
condition_tokens = st.one_of(
    st.sampled_from(METRICS),
    st.sampled_from(_OPS),
    st.sampled_from(_WORDS),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(max_size=5),
)


@st.composite
def grammar_condition(draw: st.DrawFn) -> str:
    """``METRIC [over D] OP NUMBER [...]`` with any part dropped, swapped or replaced."""
    parts = [
        draw(st.sampled_from(METRICS)),
        *(
            ["over", draw(st.sampled_from(["1h", "30m", "29h", "0s", "x"]))]
            if draw(st.booleans())
            else []
        ),
        draw(st.sampled_from(_OPS)),
        draw(st.one_of(st.integers().map(str), st.floats().map(repr), st.sampled_from(_WORDS))),
    ]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(parts)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not parts:
            parts.insert(i, draw(condition_tokens))
        elif action == "delete":
            del parts[min(i, len(parts) - 1)]
        else:
            parts[min(i, len(parts) - 1)] = draw(condition_tokens)
    gaps = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u3000"])
    return "".join(draw(gaps) + part for part in parts) + draw(gaps)


condition_texts = st.one_of(
    grammar_condition(),
    st.lists(condition_tokens, max_size=6).map(" ".join),
    st.text(max_size=40),
)

# The mapping form: {metric: ..., over: ..., <op>: ...}, right and wrong.
condition_mappings = st.fixed_dictionaries(
    {"metric": st.one_of(st.sampled_from(METRICS), scalars)},
    optional={
        "over": st.one_of(st.sampled_from(["1h", "28h", "29h", "0s"]), scalars),
        "gte": scalars,
        "gt": st.one_of(st.integers(), st.floats()),
        "lt": scalars,
        "eq": st.one_of(st.integers(), st.floats()),
        "extra": scalars,
    },
)


# ------------------------------------------------------------------ templates

TEMPLATE_NAMES = sorted(FIXED_NAMES) + [f"metrics.{m}" for m in METRICS]
# fmt: off
_TEMPLATE_BITS = [
    "{", "}", "{{", "}}", "{ post.id }", "{post.id!r}", "{post.id:>10}", "{post[0]}",
    "{post.__class__}", "{metrics.likez}", "{metrics.}", "{Post.Id}", "{}", "{0}", "{a.b.c}",
    "{metrics.likes", "post.id}", "\n", "\x00", "é", "%s", "$x", "\\{",
]
# fmt: on
template_texts = st.one_of(
    st.lists(
        st.one_of(
            st.sampled_from(TEMPLATE_NAMES).map(lambda n: "{" + n + "}"),
            st.sampled_from(_TEMPLATE_BITS),
            st.text(max_size=6),
        ),
        max_size=8,
    ).map("".join),
    st.text(alphabet=st.sampled_from(list("{}._:!abcdefghijklmnopqrstuvwxyz0[] ")), max_size=30),
    st.text(max_size=30),
)

# A template as pieces: literal text (any characters) and known names, for round trips.
template_pieces = st.lists(
    st.one_of(st.text(max_size=8), st.sampled_from(TEMPLATE_NAMES).map(lambda n: (n,))),
    max_size=8,
)


def template_source(pieces: list[str | tuple[str]]) -> str:
    """The template text that means ``pieces``: braces in literals doubled."""
    return "".join(
        "{" + p[0] + "}" if isinstance(p, tuple) else p.replace("{", "{{").replace("}", "}}")
        for p in pieces
    )
