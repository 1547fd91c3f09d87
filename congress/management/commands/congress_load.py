"""`manage.py congress_load`: load who represents which ZIP code.

Without arguments it loads the compact copy shipped in `congress/data/us-congress.json.gz`.
With `--source DIR` it reads a newer copy of the upstream files (`legislators-current.yaml`
and `zccd.csv`, the same names as upstream) and loads them; `--write-compact` also refreshes
the shipped compact copy from them. Every file is checked before anything is written: a bad or
truncated file is refused with a message, and the loaded data stay as they were.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from congress.data import (
    COMPACT_PATH,
    CongressDataError,
    read_compact,
    read_source_dir,
    write_compact,
)
from congress.services import congress_data_load


class Command(BaseCommand):
    help = "Load members of Congress and ZIP code districts (shipped copy, or --source DIR)."

    def add_arguments(self, parser):
        parser.add_argument("--source", type=Path, help="folder with the upstream files")
        parser.add_argument("--compact", type=Path, help="a compact .json.gz file to load")
        parser.add_argument(
            "--write-compact",
            action="store_true",
            help="with --source: also rewrite the compact copy shipped in the project",
        )
        parser.add_argument(
            "--allow-shrink",
            action="store_true",
            help="accept a file with far fewer ZIP codes or members than are loaded now",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when data are already loaded"
        )

    def handle(self, *args, **options):
        from congress.models import ZipDistricts

        if options["if_empty"] and ZipDistricts.objects.exists():
            self.stdout.write("Congress data already loaded; nothing to do.")
            return
        try:
            if options["source"]:
                data = read_source_dir(options["source"])
                if options["write_compact"]:
                    write_compact(data)
                    self.stdout.write(f"Wrote {COMPACT_PATH}.")
            else:
                data = read_compact(options["compact"] or COMPACT_PATH)
            load = congress_data_load(data=data, allow_shrink=options["allow_shrink"])
        except CongressDataError as exc:
            raise CommandError(f"Refused, nothing changed: {exc}") from None
        self.stdout.write(
            f"Loaded {load.legislators} members of Congress and {load.zip_codes} ZIP codes "
            f"from {load.source}."
        )
