"""Command line: ``python -m scaleml demo [--rows N]``, ``python -m scaleml drift REF CUR``."""

from __future__ import annotations

import sys

__all__: list[str] = []

_USAGE = "usage: python -m scaleml {demo,drift} [options]   (python -m scaleml demo --help)"


def _main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        from scaleml._demo import main

        return main(rest)
    if command == "drift":
        from scaleml.monitoring._cli import main as drift_main

        return drift_main(rest)
    print(f"unknown command {command!r}\n{_USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
