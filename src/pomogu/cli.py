"""The ``pomogu`` command: Django's management front with pomogu's own commands.

``pomogu demo``, ``pomogu web``, ``pomogu worker``, ``pomogu migrate``,
``pomogu token create USERNAME`` and every other management command.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pomogu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["pomogu", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
