"""Compile locale/*/LC_MESSAGES/*.po into the .mo files Django reads, in pure Python (Babel),
so a fresh machine needs no GNU gettext. `make install`/`run`/`test` and the test session call
it; a .mo newer than its .po is left alone."""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


def compile_catalogs(*, force: bool = False) -> list[Path]:
    written = []
    for base in settings.LOCALE_PATHS:
        for po_path in sorted(Path(base).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if (
                not force
                and mo_path.exists()
                and mo_path.stat().st_mtime >= po_path.stat().st_mtime
            ):
                continue
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            # Written aside and renamed: test sessions running at once never read half a file.
            partial = mo_path.with_suffix(f".mo.{os.getpid()}")
            with partial.open("wb") as mo_file:
                # Fuzzy entries are not trusted translations: left out, as msgfmt does.
                write_mo(mo_file, catalog, use_fuzzy=False)
            os.replace(partial, mo_path)
            written.append(mo_path)
    return written


class Command(BaseCommand):
    help = "Compile the translation catalogs (.po → .mo) without GNU gettext."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="rewrite every .mo")

    def handle(self, *args, force: bool = False, **options):
        for path in compile_catalogs(force=force):
            self.stdout.write(f"compiled {path.relative_to(settings.BASE_DIR)}")
