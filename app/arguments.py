"""Number arguments of `glmv` and `glmv serve`, checked where argparse reads them, with the message it prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(least: int = 0, most: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number from ``least`` (to ``most``)."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if most is not None and not least <= value <= most:
            raise argparse.ArgumentTypeError(f"must be between {least} and {most}")
        if value < least:
            raise argparse.ArgumentTypeError("must be 0 or more" if least == 0 else f"must be at least {least}")
        return value

    return read
