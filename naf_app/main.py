"""`naf-app`: the desktop studio (being built; until then it says so in one line)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of `naf-app`."""
    print("naf-app: the desktop app is not built yet; try `naf scene show apartment_1 -o plan.png`.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
