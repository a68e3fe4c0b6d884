"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``benchmarks``, ``docs``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, doctests included (what CI runs)."""
    session.install("-e", ".[test,dask]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src."""
    session.install("-e", ".", "mypy", "pandas-stubs")
    session.run("mypy", "src/scaleml")


@nox.session
def benchmarks(session: nox.Session) -> None:
    """The benchmark suite on real sizes; writes benchmarks/results.json and the report.

    Rows come from SCALEML_BENCH_ROWS (default 10_000_000).
    """
    session.install("-e", ".[test,dask]", "pandas", "psutil")
    session.run(
        "python",
        "-m",
        "pytest",
        "benchmarks",
        "-p",
        "no:cacheprovider",
        "--benchmark-json",
        "benchmarks/results.json",
        *session.posargs,
    )
    session.run("python", "benchmarks/report.py", "benchmarks/results.json")


@nox.session
def docs(session: nox.Session) -> None:
    """Run the guide's examples, then build the HTML documentation; warnings are errors.

    The API reference is generated from the docstrings at build time; the benchmark page
    comes from ``python benchmarks/make_report.py``.
    """
    session.install("-e", ".[docs,dask]")
    for builder in ("doctest", "html"):
        session.run(
            "sphinx-build", "-W", "--keep-going", "-b", builder, "docs", f"docs/_build/{builder}"
        )
