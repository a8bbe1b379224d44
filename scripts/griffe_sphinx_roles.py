"""A griffe extension for the API reference: Sphinx roles in docstrings shown as code, not as markup.

tuneport's docstrings name other objects with Sphinx roles
(``:class:`~tuneport.errors.SpecError```, ``:meth:`wait```).  mkdocstrings
renders docstrings as Markdown, where such a role would print literally
(``:class: ~tuneport.errors.SpecError``).  This extension, named in
``mkdocs.yml``, rewrites each role to the code span a reader expects: the
last component with ``~`` (``SpecError``), the name as written otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

#: A Sphinx cross-reference role: ``:class:`name```, ``:py:meth:`~a.b```, ``:data:`!x```.
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const):`(?P<target>[^`]+)`")


def plain(docstring: str) -> str:
    """*docstring* with each Sphinx role turned into a Markdown code span."""

    def code(match: re.Match[str]) -> str:
        target = match["target"].lstrip("!")
        if target.startswith("~"):
            target = target[1:].rsplit(".", 1)[-1]
        return f"`{target}`"

    return ROLE.sub(code, docstring)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring loaded for the reference."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
