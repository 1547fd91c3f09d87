"""The Spanish catalog is complete: every msgid has a Spanish translation (none fuzzy), and the
compiled .mo the site reads matches the committed .po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings

CATALOGS = sorted(Path(settings.BASE_DIR / "locale" / "es" / "LC_MESSAGES").glob("*.po"))


def _untranslated(po_path: Path) -> list[str]:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def _strings(message) -> tuple[str, ...]:
    if isinstance(message.string, str):
        return (message.string,)
    return tuple(message.string)


def test_there_is_a_spanish_catalog():
    assert [path.name for path in CATALOGS][:1] == ["django.po"]


def test_every_msgid_has_a_spanish_translation():
    problems = {path.name: _untranslated(path) for path in CATALOGS}
    problems = {name: ids for name, ids in problems.items() if ids}
    assert not problems, (
        "msgids without a Spanish translation (translate them in locale/es/LC_MESSAGES): "
        f"{problems}"
    )


def test_placeholders_survive_translation():
    """A Spanish string that drops or renames a %(name)s would crash or lie at runtime."""
    import re

    pattern = re.compile(r"%\([a-z_0-9]+\)[sd]|\{[a-z_]+\}")
    problems = []
    for path in CATALOGS:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="es")
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(pattern.findall(ids[-1])) | set(pattern.findall(ids[0]))
            for text in strings:
                if text and set(pattern.findall(text)) - wanted:
                    problems.append((ids[0], text))
                if text and len(ids) == 1 and set(pattern.findall(text)) != wanted:
                    problems.append((ids[0], text))
    assert not problems, problems


def test_the_compiled_catalogs_match_the_po_files():
    from campaigns.management.commands.compile_catalogs import compile_catalogs

    compile_catalogs()
    for path in CATALOGS:
        with path.open("rb") as handle:
            po = read_po(handle, locale="es")
        with path.with_suffix(".mo").open("rb") as handle:
            mo = read_mo(handle)
        expected = {
            (m.context, m.id if isinstance(m.id, str) else m.id[0]): _strings(m)
            for m in po
            if m.id and not m.fuzzy
        }
        compiled = {
            (m.context, m.id if isinstance(m.id, str) else m.id[0]): _strings(m) for m in mo if m.id
        }
        assert compiled == expected, path.name
