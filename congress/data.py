"""Reading the public Congress data: the upstream source files and the compact copy shipped in
`congress/data/`. Nothing here touches the database; `congress.services.congress_data_load`
loads what these functions return.

Upstream files (see congress/README.md):
- `legislators-current.yaml` (unitedstates/congress-legislators, CC0): one entry per current
  member; the last of its `terms` holds the chamber, state, district, party and office.
- `zccd.csv` (OpenSourceActivismTech/us-zipcodes-congress, US Government work):
  `state_fips,state_abbr,zcta,cd`, one row per (ZCTA, district); cd 0 is an at-large seat.

Every check that can refuse a file runs here, before anything is written, so a bad file
changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

COMPACT_PATH = Path(__file__).resolve().parent / "data" / "us-congress.json.gz"
COMPACT_FORMAT = 1
LEGISLATORS_FILE = "legislators-current.yaml"
ZCCD_FILE = "zccd.csv"
# Optional: members' district and state offices (the same upstream project).
OFFICES_FILE = "legislators-district-offices.yaml"
MAX_LOCAL_OFFICES = 10
ZCCD_HEADER = ["state_fips", "state_abbr", "zcta", "cd"]

_STATE_LIST = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
STATES = frozenset(_STATE_LIST.split(" "))
TERRITORIES = {"DC", "PR", "GU", "VI", "AS", "MP"}
ZIP_RE = re.compile(r"^[0-9]{5}$")
BIOGUIDE_RE = re.compile(r"^[A-Z][0-9]{6}$")

# ZIP codes of the territories that the ZCTA file leaves out (USPS prefixes). Puerto Rico and
# DC are in the file; these have one at-large delegate each and no senators.
TERRITORY_ZIP_PREFIXES = (
    ("008", "VI"),
    ("96799", "AS"),
    ("9691", "GU"),
    ("9692", "GU"),
    ("9693", "GU"),
    ("9695", "MP"),
)


class CongressDataError(Exception):
    """A source file is unreadable or does not look like the data we expect. The message says
    which file and what is wrong, for the operator."""


@dataclass
class CongressData:
    legislators: list[dict] = field(default_factory=list)
    # "94609" -> "CA-12"; "02861" -> "MA-4 RI-1"
    zips: dict[str, str] = field(default_factory=dict)
    source: str = ""
    sha256: str = ""


def territory_for_zip(zip_code: str) -> str | None:
    for prefix, territory in TERRITORY_ZIP_PREFIXES:
        if zip_code.startswith(prefix):
            return territory
    return None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _legislator(entry, index: int) -> dict:
    where = _("entry %(n)d of %(file)s") % {"n": index + 1, "file": LEGISLATORS_FILE}
    if not isinstance(entry, dict):
        raise CongressDataError(_("%(where)s is not a record.") % {"where": where})
    bioguide = _text((entry.get("id") or {}).get("bioguide"))
    if not BIOGUIDE_RE.match(bioguide):
        raise CongressDataError(_("%(where)s has no valid bioguide id.") % {"where": where})
    terms = entry.get("terms")
    if not isinstance(terms, list) or not terms or not isinstance(terms[-1], dict):
        raise CongressDataError(
            _("%(where)s (%(id)s) has no terms.") % {"where": where, "id": bioguide}
        )
    term = terms[-1]
    name = entry.get("name") or {}
    full = _text(name.get("official_full")) or " ".join(
        filter(None, [_text(name.get("first")), _text(name.get("last"))])
    )
    kind = term.get("type")
    state = _text(term.get("state"))
    if kind not in {"sen", "rep"} or state not in STATES | TERRITORIES or not full:
        raise CongressDataError(
            _("%(where)s (%(id)s): its last term needs type sen/rep, a state and a name.")
            % {"where": where, "id": bioguide}
        )
    district = None
    if kind == "rep":
        try:
            district = int(term.get("district"))
        except (TypeError, ValueError):
            raise CongressDataError(
                _("%(where)s (%(id)s): a representative needs a district number.")
                % {"where": where, "id": bioguide}
            ) from None
        if not 0 <= district <= 99:
            raise CongressDataError(
                _("%(where)s (%(id)s): district %(d)s is out of range.")
                % {"where": where, "id": bioguide, "d": district}
            )
    elif state in TERRITORIES:
        raise CongressDataError(
            _("%(where)s (%(id)s): %(state)s has no senators.")
            % {"where": where, "id": bioguide, "state": state}
        )
    return {
        "bioguide": bioguide,
        "chamber": "senate" if kind == "sen" else "house",
        "state": state,
        "district": district,
        "name": full[:200],
        "last_name": (_text(name.get("last")) or full.split()[-1])[:100],
        "party": _text(term.get("party"))[:40],
        "state_rank": _text(term.get("state_rank"))[:10],
        "phone": _text(term.get("phone"))[:30],
        "contact_url": _text(term.get("contact_form"))[:300],
        "website": _text(term.get("url"))[:300],
        "office": _text(term.get("address") or term.get("office"))[:300],
    }


def _check_legislators(legislators: list[dict], source: str) -> None:
    ids = [x["bioguide"] for x in legislators]
    if len(set(ids)) != len(ids):
        raise CongressDataError(_("%(file)s lists a member twice.") % {"file": source})
    senators: dict[str, int] = {}
    seats: set[tuple[str, int]] = set()
    for x in legislators:
        if x["chamber"] == "senate":
            senators[x["state"]] = senators.get(x["state"], 0) + 1
        else:
            seat = (x["state"], x["district"])
            if seat in seats:
                raise CongressDataError(
                    _("%(file)s has two representatives for %(state)s-%(d)s.")
                    % {"file": source, "state": seat[0], "d": seat[1]}
                )
            seats.add(seat)
    crowded = sorted(state for state, n in senators.items() if n > 2)
    if crowded:
        raise CongressDataError(
            _("%(file)s has more than two senators for %(states)s.")
            % {"file": source, "states": ", ".join(crowded)}
        )


def parse_legislators(raw: bytes) -> list[dict]:
    try:
        entries = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 — safe loader
    except yaml.YAMLError as exc:
        raise CongressDataError(
            _("%(file)s is not valid YAML: %(error)s") % {"file": LEGISLATORS_FILE, "error": exc}
        ) from None
    if not isinstance(entries, list) or not entries:
        raise CongressDataError(
            _("%(file)s should be a list of members.") % {"file": LEGISLATORS_FILE}
        )
    legislators = [_legislator(entry, i) for i, entry in enumerate(entries)]
    _check_legislators(legislators, LEGISLATORS_FILE)
    return legislators


def parse_offices(raw: bytes) -> dict[str, list[dict]]:
    """Each member's local offices that have a phone: {bioguide: [{"city", "phone"}, …]}."""
    try:
        entries = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 — safe loader
    except yaml.YAMLError as exc:
        raise CongressDataError(
            _("%(file)s is not valid YAML: %(error)s") % {"file": OFFICES_FILE, "error": exc}
        ) from None
    if not isinstance(entries, list):
        raise CongressDataError(_("%(file)s should be a list of members.") % {"file": OFFICES_FILE})
    result: dict[str, list[dict]] = {}
    for i, entry in enumerate(entries):
        bioguide = (
            _text(((entry or {}).get("id") or {}).get("bioguide"))
            if isinstance(entry, dict)
            else ""
        )
        offices = entry.get("offices") if isinstance(entry, dict) else None
        if not BIOGUIDE_RE.match(bioguide) or not isinstance(offices, list):
            raise CongressDataError(
                _("Entry %(n)d of %(file)s needs a bioguide id and a list of offices.")
                % {"n": i + 1, "file": OFFICES_FILE}
            )
        rows = [
            {"city": _text(o.get("city"))[:100], "phone": _text(o.get("phone"))[:30]}
            for o in offices
            if isinstance(o, dict) and _text(o.get("phone"))
        ]
        result[bioguide] = rows[:MAX_LOCAL_OFFICES]
    return result


def parse_zccd(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CongressDataError(_("%(file)s is not UTF-8 text.") % {"file": ZCCD_FILE}) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if [h.strip() for h in header or []] != ZCCD_HEADER:
        raise CongressDataError(
            _("%(file)s should start with the header %(header)s.")
            % {"file": ZCCD_FILE, "header": ",".join(ZCCD_HEADER)}
        )
    by_zip: dict[str, list[str]] = {}
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            _fips, state, zcta, cd = (cell.strip() for cell in row)
            district = int(cd)
        except ValueError:
            raise CongressDataError(
                _("%(file)s line %(line)d should be four columns with a district number.")
                % {"file": ZCCD_FILE, "line": line_no}
            ) from None
        if state not in STATES | TERRITORIES or not ZIP_RE.match(zcta) or not 0 <= district <= 99:
            raise CongressDataError(
                _("%(file)s line %(line)d has a bad state, ZIP code or district.")
                % {"file": ZCCD_FILE, "line": line_no}
            )
        label = f"{state}-{district}"
        seats = by_zip.setdefault(zcta, [])
        if label not in seats:
            seats.append(label)
    if not by_zip:
        raise CongressDataError(_("%(file)s has no rows.") % {"file": ZCCD_FILE})
    return {z: " ".join(sorted(seats)) for z, seats in by_zip.items()}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CongressDataError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from None


def read_source_dir(directory: Path) -> CongressData:
    """Parse and check the upstream files in `directory` (the same names as upstream)."""
    raw_legislators = _read(Path(directory) / LEGISLATORS_FILE)
    raw_zccd = _read(Path(directory) / ZCCD_FILE)
    offices_path = Path(directory) / OFFICES_FILE
    raw_offices = _read(offices_path) if offices_path.exists() else b""
    digest = hashlib.sha256(raw_legislators + b"\0" + raw_zccd + b"\0" + raw_offices).hexdigest()
    legislators = parse_legislators(raw_legislators)
    if raw_offices:
        offices = parse_offices(raw_offices)
        for x in legislators:
            x["local_offices"] = offices.get(x["bioguide"], [])
    return CongressData(
        legislators=legislators,
        zips=parse_zccd(raw_zccd),
        source=str(directory),
        sha256=digest,
    )


def read_compact(path: Path = COMPACT_PATH) -> CongressData:
    """The compact copy shipped with the project (or written by `congress_load --write-compact`)."""
    raw = _read(Path(path))
    try:
        payload = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError):
        raise CongressDataError(
            _("%(path)s is not a gzipped JSON file.") % {"path": path}
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != COMPACT_FORMAT:
        raise CongressDataError(
            _("%(path)s is not a compact Congress file of format %(format)d.")
            % {"path": path, "format": COMPACT_FORMAT}
        )
    legislators = payload.get("legislators")
    zips = payload.get("zips")
    if (
        not isinstance(legislators, list)
        or not legislators
        or not isinstance(zips, dict)
        or not zips
    ):
        raise CongressDataError(_("%(path)s has no members or no ZIP codes.") % {"path": path})
    for x in legislators:
        if not isinstance(x, dict) or not BIOGUIDE_RE.match(str(x.get("bioguide", ""))):
            raise CongressDataError(_("%(path)s has a member without an id.") % {"path": path})
    _check_legislators(legislators, str(path))
    for zip_code, seats in zips.items():
        if not ZIP_RE.match(zip_code) or not isinstance(seats, str) or not seats:
            raise CongressDataError(
                _("%(path)s has a bad ZIP code entry %(zip)s.") % {"path": path, "zip": zip_code}
            )
    return CongressData(
        legislators=legislators,
        zips=zips,
        source=str(payload.get("source") or path),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def write_compact(data: CongressData, path: Path = COMPACT_PATH) -> None:
    """Write the compact copy atomically (a temporary file renamed over the old one)."""
    payload = {
        "format": COMPACT_FORMAT,
        "source": data.source,
        "sources": {
            LEGISLATORS_FILE: "https://github.com/unitedstates/congress-legislators (CC0 1.0)",
            OFFICES_FILE: "https://github.com/unitedstates/congress-legislators (CC0 1.0)",
            ZCCD_FILE: "https://github.com/OpenSourceActivismTech/us-zipcodes-congress "
            "(US Government work)",
        },
        "legislators": data.legislators,
        "zips": dict(sorted(data.zips.items())),
    }
    body = gzip.compress(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(), mtime=0
    )
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".congress-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.chmod(tmp, 0o644)  # noqa: S103 — a public data file, readable by the web server
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
