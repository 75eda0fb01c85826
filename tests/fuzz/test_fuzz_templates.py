"""The template parser and renderer on generated templates: a Template whose rendering is
plain substitution, or a TemplateError at an offset inside the text; never a traceback."""

from __future__ import annotations

from fuzz.strategies import INPUTS, fuzz_settings
from fuzz.text_strategies import TEMPLATE_NAMES, template_pieces, template_source, template_texts
from hypothesis import given
from hypothesis import strategies as st

from automation.core.errors import TemplateError
from automation.core.templates import known_name, parse_template

TEXT_EXAMPLES = 1500  # template texts per run
ROUND_TRIP_EXAMPLES = 500  # templates built from pieces per run

# Values that would mean something to str.format or to a second pass: rendered verbatim.
_TRICKY = st.sampled_from(["{post.id}", "{0}", "{{", "}", "%s", "\\", "", "é\x00"])
render_values = st.fixed_dictionaries({}, optional={n: _TRICKY for n in TEMPLATE_NAMES[:12]})


@fuzz_settings(TEXT_EXAMPLES)
@given(text=template_texts, values=render_values)
def test_generated_templates_render_or_point_at_a_character(
    text: str, values: dict[str, str]
) -> None:
    INPUTS["template texts"] += 1
    try:
        template = parse_template(text)
    except TemplateError as exc:
        assert 0 <= exc.offset < len(text), (exc.offset, text)
        assert text[exc.offset] in "{}", (exc.offset, text)
        assert str(exc)
        return
    assert template.source == text
    assert all(known_name(name) for name in template.names)
    rendered = template.render(values)
    literal = "".join(p for p in template.parts if isinstance(p, str))
    assert len(rendered) == len(literal) + sum(len(values.get(n, "")) for n in template.names)


@fuzz_settings(ROUND_TRIP_EXAMPLES)
@given(pieces=template_pieces, values=render_values)
def test_templates_built_from_pieces_render_those_pieces(
    pieces: list[str | tuple[str]], values: dict[str, str]
) -> None:
    INPUTS["template round trips"] += 1
    template = parse_template(template_source(pieces))
    expected = "".join(values.get(p[0], "") if isinstance(p, tuple) else p for p in pieces)
    assert template.render(values) == expected
