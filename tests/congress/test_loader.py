"""`manage.py congress_load`: the shipped copy loads; a newer copy of the upstream files
replaces the old data all at once; a bad file is refused with a message and changes nothing."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError

from congress.data import COMPACT_PATH, CongressData, read_compact, read_source_dir, write_compact
from congress.models import CongressDataLoad, Legislator, ZipDistricts
from congress.services import congress_data_load
from tests.congress.conftest import LEGISLATORS, ZCCD_ROWS, rep, write_source

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "us-congress"


def state_of_db() -> dict:
    return {
        "members": sorted(
            Legislator.objects.values_list("bioguide", "phone", "in_office", "state", "district")
        ),
        "zips": sorted(ZipDistricts.objects.values_list("zip_code", "districts")),
        "loads": CongressDataLoad.objects.count(),
    }


def test_the_shipped_compact_copy_loads_every_member_and_zip_code_of_the_source():
    call_command("congress_load")
    assert Legislator.objects.filter(in_office=True).count() == 537
    assert Legislator.objects.filter(chamber="senate").count() == 100
    assert ZipDistricts.objects.count() == 33774
    assert ZipDistricts.objects.get(zip_code="94609").districts == "CA-12"
    assert ZipDistricts.objects.get(zip_code="02861").districts == "MA-4 RI-1"
    load = CongressDataLoad.objects.get()
    assert (load.legislators, load.zip_codes) == (537, 33774)


@pytest.mark.skipif(not SHARED.exists(), reason="the upstream snapshot is not on this machine")
def test_the_shipped_compact_copy_matches_the_upstream_files_it_was_made_from():
    source = read_source_dir(SHARED)
    shipped = read_compact()
    assert shipped.zips == source.zips
    assert sorted(x["bioguide"] for x in shipped.legislators) == sorted(
        x["bioguide"] for x in source.legislators
    )
    with (SHARED / "zccd.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["zcta"] == "94609"]
    assert [f"{r['state_abbr']}-{int(r['cd'])}" for r in rows] == ["CA-12"]


def test_a_newer_copy_replaces_the_old_one_and_keeps_departed_members_out_of_office(
    tmp_path, congress_loaded
):
    newer = [x for x in LEGISLATORS if x["id"]["bioguide"] != "T000013"]
    newer = [
        rep("S000001", "Lana", "Simmons", "CA", 12, phone="202-225-9999"),
        *[x for x in newer if x["id"]["bioguide"] != "S000001"],
        rep("N000013", "Nora", "Newcomer", "CA", 13),
    ]
    rows = [r for r in ZCCD_ROWS if r[2] != "94611"] + [("06", "CA", "94612", 13)]
    call_command("congress_load", source=write_source(tmp_path / "v2", newer, rows))

    assert Legislator.objects.get(pk="S000001").phone == "202-225-9999"
    departed = Legislator.objects.get(pk="T000013")
    assert departed.in_office is False
    assert Legislator.objects.get(pk="N000013").in_office is True
    assert not ZipDistricts.objects.filter(zip_code="94611").exists()
    assert ZipDistricts.objects.get(zip_code="94612").districts == "CA-13"
    assert CongressDataLoad.objects.count() == 2


def test_a_load_that_fails_half_way_leaves_the_old_data_whole(tmp_path, congress_loaded):
    """The members are written before the ZIP codes; a failure on the ZIP codes must roll the
    members back too (one transaction)."""
    before = state_of_db()
    data = read_source_dir(write_source(tmp_path / "v2"))
    data.legislators[0]["phone"] = "202-225-7777"
    data.zips["123456"] = "CA-12"  # too long for the column: the database refuses it
    with pytest.raises(DataError):
        congress_data_load(data=data)
    assert state_of_db() == before


BAD_FILES = {
    "yaml that does not parse": ("legislators-current.yaml", "- id: {bioguide: [unclosed\n"),
    "a member without an id": (
        "legislators-current.yaml",
        "- name: {official_full: Nobody}\n  terms: [{type: rep, state: CA, district: 1}]\n",
    ),
    "a representative without a district": (
        "legislators-current.yaml",
        "- id: {bioguide: X000001}\n  name: {official_full: X Y, last: Y}\n"
        "  terms: [{type: rep, state: CA}]\n",
    ),
    "senators for DC": (
        "legislators-current.yaml",
        "- id: {bioguide: X000001}\n  name: {official_full: X Y, last: Y}\n"
        "  terms: [{type: sen, state: DC}]\n",
    ),
    "a csv with another header": ("zccd.csv", "zip,district\n94609,12\n"),
    "offices that are not a list": ("legislators-district-offices.yaml", "offices: none\n"),
    "an office entry without an id": (
        "legislators-district-offices.yaml",
        "- offices: [{city: Oakland, phone: 510-763-0370}]\n",
    ),
    "a csv row with a bad zip": ("zccd.csv", "state_fips,state_abbr,zcta,cd\n06,CA,9460,12\n"),
    "a csv row with text for a district": (
        "zccd.csv",
        "state_fips,state_abbr,zcta,cd\n06,CA,94609,twelve\n",
    ),
    "a csv with no rows": ("zccd.csv", "state_fips,state_abbr,zcta,cd\n"),
    "a truncated csv": ("zccd.csv", "state_fips,state_abbr,zcta,cd\n06,CA,94609,12\n"),
    "a file that is not text": ("zccd.csv", b"\xff\xfe\x00binary"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_with_a_message_and_nothing_changes(tmp_path, congress_loaded, case):
    name, content = BAD_FILES[case]
    directory = write_source(tmp_path / "bad")
    if isinstance(content, bytes):
        (directory / name).write_bytes(content)
    else:
        (directory / name).write_text(content)
    before = state_of_db()
    with pytest.raises(CommandError) as refused:
        call_command("congress_load", source=directory)
    assert str(refused.value).startswith("Refused, nothing changed:")
    assert name in str(refused.value) or "ZIP codes" in str(refused.value)
    assert state_of_db() == before


def test_a_missing_file_is_refused_and_nothing_changes(tmp_path, congress_loaded):
    directory = write_source(tmp_path / "partial")
    (directory / "zccd.csv").unlink()
    before = state_of_db()
    with pytest.raises(CommandError, match="Cannot read .*zccd.csv"):
        call_command("congress_load", source=directory)
    assert state_of_db() == before


def test_a_much_smaller_file_is_accepted_only_when_asked(tmp_path, congress_loaded):
    directory = write_source(tmp_path / "small", rows=ZCCD_ROWS[:2])
    with pytest.raises(CommandError, match="looks truncated"):
        call_command("congress_load", source=directory)
    call_command("congress_load", source=directory, allow_shrink=True)
    assert ZipDistricts.objects.count() == 2


def test_a_bad_compact_file_is_refused(tmp_path, congress_loaded):
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(json.dumps({"format": 99}).encode()))
    before = state_of_db()
    with pytest.raises(CommandError, match="not a compact Congress file"):
        call_command("congress_load", compact=bad)
    bad.write_bytes(b"not gzip")
    with pytest.raises(CommandError, match="not a gzipped JSON file"):
        call_command("congress_load", compact=bad)
    assert state_of_db() == before


def test_the_compact_copy_round_trips(tmp_path, source_dir):
    data = read_source_dir(source_dir)
    target = tmp_path / "copy.json.gz"
    write_compact(data, target)
    again = read_compact(target)
    assert again.zips == data.zips
    assert again.legislators == data.legislators
    assert target.stat().st_mode & 0o777 == 0o644
    assert isinstance(again, CongressData)


def test_if_empty_leaves_loaded_data_alone(congress_loaded):
    before = state_of_db()
    call_command("congress_load", if_empty=True)
    assert state_of_db() == before
    assert COMPACT_PATH.exists()


def test_local_offices_are_loaded_when_the_offices_file_is_there(tmp_path, congress_loaded):
    simmons = Legislator.objects.get(pk="S000001")
    assert simmons.local_offices == [{"city": "Oakland", "phone": "510-763-0370"}]
    assert Legislator.objects.get(pk="P000001").local_offices == []
    # The offices file is optional: without it members simply have none.
    call_command("congress_load", source=write_source(tmp_path / "v2", offices=None))
    assert Legislator.objects.get(pk="S000001").local_offices == []
