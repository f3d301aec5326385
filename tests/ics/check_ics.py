#!/usr/bin/env python3
"""Independent check of a session calendar (.ics) with the `icalendar` PyPI package (>=6,<7).

Usage: check_ics.py FILE EXPECTATIONS_JSON

EXPECTATIONS_JSON is a JSON list (given inline, or the path of a file holding it) of objects:
  {"uid": "session-42@samling", "sequence": 3, "status": "CONFIRMED" | "CANCELLED",
   "start_local": "2027-03-29T09:00", "end_local": "2027-03-29T11:00", "summary": "..."}
and optionally "description" and "url".

Checks: every line ends with CRLF and is at most 75 octets; the file parses; it has exactly one
VTIMEZONE with TZID Europe/Oslo holding STANDARD and DAYLIGHT, whose offsets agree with zoneinfo's
Europe/Oslo at every expected time; each expected event exists once (by UID) with the given SEQUENCE,
STATUS, SUMMARY (and DESCRIPTION/URL when given), and DTSTART/DTEND with TZID=Europe/Oslo whose
Europe/Oslo wall times equal start_local/end_local.

Prints "ics ok: N events" (N = events checked) and exits 0; otherwise prints each difference and exits 1.
Exits 2 on a usage error.
"""

import json
import os
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar

OSLO_NAME = "Europe/Oslo"
OSLO = ZoneInfo(OSLO_NAME)


def raw_line_problems(data: bytes) -> list[str]:
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("file does not end with CRLF")
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {number}: bare LF or CR (lines must end with CRLF): {line[:60]!r}")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets > 75: {line[:60]!r}")
    return problems


def local_text(value) -> str:
    """A DATE-TIME as Europe/Oslo wall time, 'YYYY-MM-DDTHH:MM[:SS]' (seconds only when not zero)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return f"<not an aware date-time: {value!r}>"
    local = value.astimezone(OSLO)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def normalised_local(expected: str) -> str:
    parsed = datetime.fromisoformat(expected)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S" if parsed.second else "%Y-%m-%dT%H:%M")


def load_expectations(argument: str):
    text = argument
    if not argument.lstrip().startswith("[") and os.path.isfile(argument):
        with open(argument, encoding="utf-8") as handle:
            text = handle.read()
    expectations = json.loads(text)
    if not isinstance(expectations, list):
        raise ValueError("EXPECTATIONS_JSON must be a JSON list")
    return expectations


def check_timezone(cal, expectations, problems: list[str]):
    zones = [c for c in cal.walk("VTIMEZONE")]
    oslo = [z for z in zones if str(z.get("TZID")) == OSLO_NAME]
    if len(oslo) != 1:
        problems.append(f"expected exactly one VTIMEZONE with TZID {OSLO_NAME}, found {len(oslo)} (of {len(zones)})")
        return
    zone = oslo[0]
    names = [sub.name for sub in zone.subcomponents]
    for part in ("STANDARD", "DAYLIGHT"):
        if names.count(part) != 1:
            problems.append(f"VTIMEZONE {OSLO_NAME} has {names.count(part)} {part} sub-components, expected 1")
    try:
        defined = zone.to_tz(lookup_tzid=False)  # built from the file's own STANDARD/DAYLIGHT rules
    except Exception as error:  # noqa: BLE001 - report any failure to interpret the definition
        problems.append(f"VTIMEZONE {OSLO_NAME} cannot be interpreted: {error}")
        return
    for expectation in expectations:
        for key in ("start_local", "end_local"):
            if key not in expectation:
                continue
            wall = datetime.fromisoformat(expectation[key]).replace(tzinfo=None)
            ours = wall.replace(tzinfo=defined).utcoffset()
            real = wall.replace(tzinfo=OSLO).utcoffset()
            if ours != real:
                problems.append(
                    f"VTIMEZONE {OSLO_NAME} gives UTC offset {ours} at {wall.isoformat()}, zoneinfo says {real}"
                )


def check_event(events_by_uid, expectation, problems: list[str]):
    uid = expectation.get("uid")
    found = events_by_uid.get(uid, [])
    if len(found) != 1:
        problems.append(f"{uid}: expected exactly one VEVENT with this UID, found {len(found)}")
        return
    event = found[0]

    def compare(field: str, actual, expected):
        if actual != expected:
            problems.append(f"{uid}: {field} is {actual!r}, expected {expected!r}")

    if "sequence" in expectation:
        sequence = event.get("SEQUENCE")
        compare("SEQUENCE", None if sequence is None else int(sequence), int(expectation["sequence"]))
    if "status" in expectation:
        status = event.get("STATUS")
        compare("STATUS", None if status is None else str(status), expectation["status"])
    for key, prop in (("summary", "SUMMARY"), ("description", "DESCRIPTION"), ("url", "URL")):
        if key in expectation:
            value = event.get(prop)
            compare(prop, None if value is None else str(value), expectation[key])
    for key, prop in (("start_local", "DTSTART"), ("end_local", "DTEND")):
        if key not in expectation:
            continue
        value = event.get(prop)
        if value is None:
            problems.append(f"{uid}: {prop} missing")
            continue
        tzid = value.params.get("TZID")
        compare(f"{prop} TZID", None if tzid is None else str(tzid), OSLO_NAME)
        compare(f"{prop} in {OSLO_NAME}", local_text(value.dt), normalised_local(expectation[key]))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, expectations_argument = argv[1], argv[2]
    try:
        expectations = load_expectations(expectations_argument)
        with open(path, "rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as error:
        print(f"usage error: {error}", file=sys.stderr)
        return 2

    problems = raw_line_problems(data)
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as error:  # noqa: BLE001 - any parse failure is a finding
        problems.append(f"icalendar cannot parse {path}: {error}")
        cal = None

    if cal is not None:
        if str(cal.get("VERSION")) != "2.0":
            problems.append(f"VERSION is {cal.get('VERSION')!r}, expected '2.0'")
        check_timezone(cal, expectations, problems)
        events_by_uid: dict[str, list] = {}
        for event in cal.walk("VEVENT"):
            events_by_uid.setdefault(str(event.get("UID")), []).append(event)
        for expectation in expectations:
            check_event(events_by_uid, expectation, problems)

    if problems:
        for problem in problems:
            print(problem)
        print(f"ics FAILED: {len(problems)} difference(s)")
        return 1
    print(f"ics ok: {len(expectations)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
