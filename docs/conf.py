"""Sphinx configuration of the scaleml documentation.

Build with ``nox -s docs`` (HTML and the guide's doctests, warnings as errors). The API
reference is written at configuration time from the ``__all__`` of ``scaleml`` and of
every public sub-package (see ``_apigen.py``), so a new estimator appears without editing
the docs.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _apigen import write_api_pages  # noqa: E402

import scaleml  # noqa: E402

project = "scaleml"
author = "the scaleml developers"
copyright = "the scaleml developers"
release = scaleml.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"scaleml {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"benchmarks": [], "flights": []}
html_show_sourcelink = False

# -- API reference --------------------------------------------------------------------
write_api_pages(HERE / "api")
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types
autodoc_member_order = "groupwise"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- doctests -------------------------------------------------------------------------
# Only the guide's ``.. doctest::`` blocks run here: the docstrings' Examples shown in the
# API pages already run under pytest (--doctest-modules).
doctest_test_doctest_blocks = ""
# Every page's examples run in a fresh temporary directory, like a user's session.
doctest_global_setup = """
import os as _os, shutil as _shutil, tempfile as _tempfile
_docs_cwd = _os.getcwd()
_docs_tmp = _tempfile.mkdtemp(prefix="scaleml-docs-")
_os.chdir(_docs_tmp)
"""
doctest_global_cleanup = """
_os.chdir(_docs_cwd)
_shutil.rmtree(_docs_tmp, ignore_errors=True)
"""
import doctest as _doctest  # noqa: E402

doctest_default_flags = (
    _doctest.ELLIPSIS
    | _doctest.NORMALIZE_WHITESPACE
    | _doctest.IGNORE_EXCEPTION_DETAIL
    | _doctest.DONT_ACCEPT_TRUE_FOR_1
)

# -- docstring clean-up ---------------------------------------------------------------
# Docstrings say ``(n_features_in_,)`` in plain text, as scikit-learn's do in backticks;
# to reStructuredText a bare ``word_`` is a hyperlink reference to an unknown target.
# After numpydoc has rendered a docstring, escape such trailing underscores outside
# inline literals and roles.
import re  # noqa: E402

_LITERAL = re.compile(r"(:\w+:`[^`]*`|``[^`]*``|`[^`]*`_{0,2})")
_BARE_REF = re.compile(r"(?<![\\\w])([A-Za-z]\w*?)_(?=$|[^\w`])")


def _escape_bare_refs(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if line.lstrip().startswith((".. ", ">>>", "...")) or "_" not in line:
            continue
        parts = _LITERAL.split(line)
        parts[::2] = [_BARE_REF.sub(r"\1\\_", p) for p in parts[::2]]
        lines[i] = "".join(parts)


# Sphinx 9's autosummary cuts a summary at the first ". " even inside an inline literal
# (``f0 .. f9``), which leaves an unterminated literal in the table: extend the cut
# sentence until its literals are balanced.
from sphinx.ext import autosummary as _autosummary  # noqa: E402

_extract_summary = _autosummary.extract_summary


def _balanced_summary(doc, settings):
    summary = _extract_summary(doc, settings)
    if summary.count("``") % 2 == 0:
        return summary
    stanza = []
    for line in doc:
        if line.strip():
            stanza.append(line.strip())
        elif stanza:
            break
    sentences = _autosummary.periods_re.split(" ".join(stanza))
    for i in range(len(sentences)):
        summary = ". ".join(sentences[: i + 1]).rstrip(".") + "."
        if summary.count("``") % 2 == 0:
            break
    return summary


_autosummary.extract_summary = _balanced_summary


def _skip_sklearn_members(app, what, name, obj, skip, options):
    """Leave out members inherited from scikit-learn: their docstrings point into its own
    documentation (glossary terms, user-guide labels) and they behave as documented there."""
    target = getattr(obj, "fget", obj)
    module = getattr(target, "__module__", None) or ""
    return True if module.split(".")[0] == "sklearn" else None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bare_refs, priority=900)
    app.connect("autodoc-skip-member", _skip_sklearn_members)
    return {"parallel_read_safe": True}
