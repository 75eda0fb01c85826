"""The one exception tree: every error class of ``automation.core.errors`` derives from
``AutomationError``, is exported and stands in the tree its docstring draws."""

from __future__ import annotations

import inspect

from automation.core import errors


def _error_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    ]


def test_every_error_is_an_automation_error_exported_and_drawn() -> None:
    doc = errors.__doc__ or ""
    drawn = {line.split("── ")[1].split()[0] for line in doc.splitlines() if "── " in line}
    for cls in _error_classes():
        assert issubclass(cls, errors.AutomationError), cls
        assert cls.__name__ in errors.__all__, cls
        if cls is not errors.AutomationError:
            assert cls.__name__ in drawn, cls
