"""A small copy of the upstream Congress files, written in the upstream formats, covering every
case the lookup must handle: a ZIP in one district, a ZIP split between two districts of one
state, a ZIP across a state line, an at-large state, a vacant seat, DC, Puerto Rico and a
territory the ZIP file leaves out (Guam)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from congress.data import read_source_dir
from congress.services import congress_data_load


def rep(bioguide, first, last, state, district, party="Democrat", phone="202-225-0001", **extra):
    term = {
        "type": "rep",
        "state": state,
        "district": district,
        "party": party,
        "phone": phone,
        "url": f"https://{last.lower()}.house.gov",
        "address": "1 Independence Ave SE Washington DC 20515",
        "start": "2025-01-03",
        "end": "2027-01-03",
        **extra,
    }
    return {
        "id": {"bioguide": bioguide},
        "name": {"first": first, "last": last, "official_full": f"{first} {last}"},
        "terms": [term],
    }


def sen(bioguide, first, last, state, rank, party="Democrat", phone="202-224-0001"):
    return {
        "id": {"bioguide": bioguide},
        "name": {"first": first, "last": last, "official_full": f"{first} {last}"},
        "terms": [
            {
                "type": "rep",
                "state": state,
                "district": 1,
                "start": "2001-01-03",
                "end": "2003-01-03",
            },
            {
                "type": "sen",
                "state": state,
                "party": party,
                "phone": phone,
                "state_rank": rank,
                "contact_form": f"https://www.{last.lower()}.senate.gov/contact",
                "url": f"https://www.{last.lower()}.senate.gov",
                "start": "2025-01-03",
                "end": "2031-01-03",
            },
        ],
    }


LEGISLATORS = [
    rep("S000001", "Lana", "Simmons", "CA", 12, phone="202-225-2661"),
    rep("T000013", "Theo", "Thirteen", "CA", 13, party="Republican"),
    sen("P000001", "Alma", "Padilla", "CA", "senior", phone="202-224-3553"),
    sen("S000002", "Adam", "Shift", "CA", "junior", phone="202-224-3841"),
    rep("A000004", "Jake", "Auckland", "MA", 4),
    sen("W000001", "Eliza", "Warrant", "MA", "senior"),
    sen("M000001", "Ed", "Marker", "MA", "junior"),
    rep("A000011", "Gabe", "Ammo", "RI", 1),
    sen("R000001", "Jack", "Reid", "RI", "senior"),
    sen("W000002", "Sheldon", "Whitehall", "RI", "junior"),
    rep("H000001", "Harriet", "Hageman", "WY", 0, party="Republican"),
    sen("B000001", "John", "Barrasso", "WY", "senior", party="Republican"),
    sen("L000001", "Cynthia", "Lummis", "WY", "junior", party="Republican"),
    rep("N000001", "Eleanor", "Norton", "DC", 0),
    rep("H000002", "Pablo", "Hernandez", "PR", 0),
    rep("M000002", "James", "Moylan", "GU", 0, party="Republican"),
    # TX-18 is vacant: nobody represents it; its senators are here.
    sen("C000001", "John", "Cornwall", "TX", "senior", party="Republican"),
    sen("C000002", "Ted", "Cruise", "TX", "junior", party="Republican"),
]

ZCCD_ROWS = [
    ("06", "CA", "94609", 12),
    ("06", "CA", "94610", 12),
    ("06", "CA", "94611", 12),
    ("06", "CA", "94702", 12),
    ("06", "CA", "94702", 13),
    ("25", "MA", "02861", 4),
    ("44", "RI", "02861", 1),
    ("56", "WY", "82001", 0),
    ("11", "DC", "20001", 0),
    ("72", "PR", "00901", 0),
    ("48", "TX", "77002", 18),
]


OFFICES = [
    {
        "id": {"bioguide": "S000001"},
        "offices": [
            {"id": "S000001-oakland", "city": "Oakland", "state": "CA", "phone": "510-763-0370"},
            {"id": "S000001-nophone", "city": "Berkeley", "state": "CA"},
        ],
    },
    {"id": {"bioguide": "Z000009"}, "offices": []},  # not a current member: ignored
]


def write_source(directory: Path, legislators=None, rows=None, offices=OFFICES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if offices is not None:
        (directory / "legislators-district-offices.yaml").write_text(
            yaml.safe_dump(offices, sort_keys=False)
        )
    (directory / "legislators-current.yaml").write_text(
        yaml.safe_dump(LEGISLATORS if legislators is None else legislators, sort_keys=False)
    )
    lines = ["state_fips,state_abbr,zcta,cd"] + [",".join(map(str, r)) for r in (rows or ZCCD_ROWS)]
    (directory / "zccd.csv").write_text("\n".join(lines) + "\n")
    return directory


@pytest.fixture
def source_dir(tmp_path) -> Path:
    return write_source(tmp_path / "v1")


@pytest.fixture
def congress_loaded(source_dir):
    """The small data set, loaded through the real loader."""
    return congress_data_load(data=read_source_dir(source_dir))
