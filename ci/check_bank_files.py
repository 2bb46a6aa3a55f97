#!/usr/bin/env python3
"""Checks the files written by `cargo run -p agora-payouts --example bank_fixtures -- OUT_DIR`
against tools that share no code with ours:

- pain001.xml: `xmllint --schema` with the pain.001.001.09 XSD shipped inside the PyPI package
  `sepaxml` (found through importlib, not a copy in this repository), plus totals recomputed
  from the document and the EPC character set.
- nacha.txt: read back with the PyPI `carta-ach` parser (`ach.parser.Parser`); entry count,
  total credits and entry hash are recomputed from its entries and compared with both the file
  control record and expected.json; record lengths, blocking and ABA check digits are checked.
- standard18.txt, payouts.csv: record lengths and totals recomputed here.
- arrival_dates.csv: is_business_day for every day of 2026-2027 against the PyPI `holidays`
  package, and each standard arrival date (submitted 10:00 local) recomputed on that calendar:
    * SEPA: holidays.financial_holidays("ECB") (the TARGET2 closing days).
    * ACH: holidays.financial_holidays("XFED") (the Federal Reserve's own calendar: a Sunday
      holiday is observed on Monday, a Saturday holiday is not moved). As a second, explicit
      check, holidays.country_holidays("US") (federal, observed rules) with the days it
      observes on a Friday for a Saturday holiday removed, since the Fed stays open then; the
      two must agree with each other and with us.
    * UK: holidays.country_holidays("GB", subdiv="ENG") (England and Wales bank holidays).
Exits non-zero on any disagreement and prints counts.
"""

import csv
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

import holidays
from ach.parser import Parser

failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print(f"  MISMATCH: {message}")
    return ok


def find_xsd(package, name):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"package {package} not installed")
    for root in spec.submodule_search_locations:
        for dirpath, _, files in os.walk(root):
            if name in files:
                return os.path.join(dirpath, name)
    sys.exit(f"{name} not found inside {package}")


def check_pain001(out, exp):
    path = os.path.join(out, exp["file"])
    xsd = find_xsd("sepaxml", "pain.001.001.09.xsd")
    result = subprocess.run(
        ["xmllint", "--noout", "--schema", xsd, path], capture_output=True, text=True
    )
    check(result.returncode == 0, f"xmllint: {result.stderr.strip()}")
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
    doc = ET.parse(path).getroot()
    txs = doc.findall(".//p:CdtTrfTxInf", ns)
    total = sum(Decimal(t.find("p:Amt/p:InstdAmt", ns).text) for t in txs)
    ids = [t.find("p:PmtId/p:EndToEndId", ns).text for t in txs]
    check(len(txs) == exp["transactions"], f"pain001 transactions {len(txs)} != {exp['transactions']}")
    check(total == Decimal(exp["control_sum"]), f"pain001 sum {total} != {exp['control_sum']}")
    check(doc.find(".//p:GrpHdr/p:CtrlSum", ns).text == exp["control_sum"], "pain001 GrpHdr CtrlSum")
    check(doc.find(".//p:GrpHdr/p:NbOfTxs", ns).text == str(exp["transactions"]), "pain001 NbOfTxs")
    check(ids == exp["end_to_end_ids"], f"pain001 EndToEndIds {ids}")
    epc = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
    for el in doc.iter():
        if el.text and el.text.strip():
            check(set(el.text) <= epc, f"pain001 text outside the EPC set: {el.text!r}")
    print(f"pain.001: {len(txs)} credits, {total} EUR, schema {os.path.basename(xsd)} from sepaxml: "
          f"{'valid' if result.returncode == 0 else 'INVALID'}")


def aba_ok(routing):
    weights = [3, 7, 1] * 3
    return len(routing) == 9 and routing.isdigit() and sum(int(d) * w for d, w in zip(routing, weights)) % 10 == 0


def check_nacha(out, exp):
    with open(os.path.join(out, exp["file"]), encoding="ascii") as f:
        text = f.read()
    lines = text.rstrip("\n").split("\n")
    check(all(len(l) == 94 for l in lines), "nacha: a record is not 94 characters")
    check(len(lines) % 10 == 0, f"nacha: {len(lines)} records is not a multiple of 10")
    check(len(lines) // 10 == exp["block_count"], "nacha: block count")
    data = Parser(text).as_dict()
    entries = [e["entry_detail"] for b in data["batches"] for e in b["entries"]]
    control = data["file_control"]
    total = sum(int(e["amount"]) for e in entries)
    entry_hash = sum(int(e["recv_dfi_id"]) for e in entries) % 10**10
    check(len(entries) == exp["entries"], f"nacha entries {len(entries)} != {exp['entries']}")
    check(len(data["batches"]) == exp["batches"], "nacha batch count")
    check(total == exp["total_credit_cents"], f"nacha total {total} != {exp['total_credit_cents']}")
    check(entry_hash == exp["entry_hash"], f"nacha hash {entry_hash} != {exp['entry_hash']}")
    check(int(control["entadd_count"]) == len(entries), "nacha file control entry count")
    check(int(control["credit_amount"]) == total, "nacha file control credit total")
    check(int(control["debit_amount"]) == 0, "nacha file control debit total")
    check(int(control["entry_hash"]) == entry_hash, "nacha file control entry hash")
    check(int(control["block_count"]) == exp["block_count"], "nacha file control block count")
    for b in data["batches"]:
        bc = b["batch_control"]
        es = [e["entry_detail"] for e in b["entries"]]
        check(int(bc["entadd_count"]) == len(es), "nacha batch control count")
        check(int(bc["credit_amount"]) == sum(int(e["amount"]) for e in es), "nacha batch control total")
        check(int(bc["entry_hash"]) == sum(int(e["recv_dfi_id"]) for e in es) % 10**10, "nacha batch hash")
    for e in entries:
        check(aba_ok(e["recv_dfi_id"] + e["check_digit"]), f"nacha routing {e['recv_dfi_id']}{e['check_digit']}")
        check(e["transaction_code"] in ("22", "32"), f"nacha transaction code {e['transaction_code']}")
    secs = sorted(b["batch_header"]["std_ent_cls_code"] for b in data["batches"]) if all(
        "std_ent_cls_code" in b["batch_header"] for b in data["batches"]) else None
    print(f"NACHA (carta-ach): {len(entries)} entries in {len(data['batches'])} batches {secs or ''}, "
          f"{total} cents, entry hash {entry_hash}, {len(lines)} records")


def check_standard18(out, exp):
    with open(os.path.join(out, exp["file"]), encoding="ascii") as f:
        lines = f.read().rstrip("\n").split("\n")
    labels = [l for l in lines if l[:4] in ("VOL1", "HDR1", "HDR2", "UHL1", "EOF1", "EOF2", "UTL1")]
    data = [l for l in lines if l not in labels]
    check([l[:4] for l in labels] == ["VOL1", "HDR1", "HDR2", "UHL1", "EOF1", "EOF2", "UTL1"], "bacs label order")
    check(all(len(l) == 80 for l in labels), "bacs: a label is not 80 characters")
    check(all(len(l) == 100 for l in data), "bacs: a data record is not 100 characters")
    credits = [l for l in data if l[15:17] == "99"]
    contras = [l for l in data if l[15:17] == "17"]
    total = sum(int(l[35:46]) for l in credits)
    check(len(credits) == exp["credits"], "bacs credit count")
    check(total == exp["total_pence"], f"bacs total {total} != {exp['total_pence']}")
    check(len(contras) == 1 and int(contras[0][35:46]) == total, "bacs contra total")
    utl = labels[-1]
    check((int(utl[4:17]), int(utl[17:30]), int(utl[30:37]), int(utl[37:44])) == (total, total, 1, len(credits)),
          "bacs UTL1 totals")
    print(f"Standard 18: {len(credits)} credits, {total} pence, contra and UTL1 balance")


def check_csv(out, exp):
    with open(os.path.join(out, exp["file"]), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == exp["rows"], "csv rows")
    check([r["amount"] for r in rows] == exp["amounts"], "csv amounts")
    print(f"CSV: {len(rows)} rows")


def business_day(day, closed):
    return day.weekday() < 5 and day not in closed


def next_business_day(day, closed):
    day += dt.timedelta(days=1)
    while not business_day(day, closed):
        day += dt.timedelta(days=1)
    return day


def check_calendars(out):
    years = [2025, 2026, 2027, 2028]
    fed = set(holidays.financial_holidays("XFED", years=years))
    us = holidays.country_holidays("US", years=years)  # federal holidays, observed rules
    # The Fed does not observe a Saturday holiday on the Friday before: drop those days.
    us_fed = {d for d, name in us.items() if not (d.weekday() == 4 and "observed" in name.lower())}
    oracles = {
        "ach": fed,
        "sepa": set(holidays.financial_holidays("ECB", years=years)),
        "uk_bacs": set(holidays.country_holidays("GB", subdiv="ENG", years=years)),
    }
    settlement = {"ach": 1, "sepa": 1, "uk_bacs": 2}
    counts = {}
    with open(os.path.join(out, "arrival_dates.csv"), newline="") as f:
        for row in csv.DictReader(f):
            day = dt.date.fromisoformat(row["date"])
            rail = row["rail"]
            closed = oracles[rail]
            ours = row["is_business_day"] == "true"
            theirs = business_day(day, closed)
            c = counts.setdefault(rail, {"days": 0, "business_days": 0, "disagreements": 0, "arrival_mismatches": 0})
            c["days"] += 1
            c["business_days"] += ours
            if not check(ours == theirs, f"{rail} {day}: ours {ours}, holidays {theirs}"):
                c["disagreements"] += 1
            if rail == "ach":
                check(theirs == business_day(day, us_fed),
                      f"ach {day}: XFED and adjusted US federal calendar disagree")
            processing = day if theirs else next_business_day(day, closed)
            for _ in range(settlement[rail]):
                processing = next_business_day(processing, closed)
            if not check(row["arrival_date"] == processing.isoformat(),
                         f"{rail} {day}: arrival ours {row['arrival_date']}, oracle {processing}"):
                c["arrival_mismatches"] += 1
    for rail, c in counts.items():
        print(f"calendar {rail}: {c['days']} days, {c['business_days']} business days, "
              f"{c['disagreements']} disagreements, {c['arrival_mismatches']} arrival mismatches")
    check(set(counts) == set(oracles) and all(c["days"] == 730 for c in counts.values()),
          f"calendar rows: {counts}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_bank_files.py OUT_DIR")
    out = sys.argv[1]
    with open(os.path.join(out, "expected.json")) as f:
        expected = json.load(f)
    check_pain001(out, expected["pain001"])
    check_nacha(out, expected["nacha"])
    check_standard18(out, expected["standard18"])
    check_csv(out, expected["csv"])
    check_calendars(out)
    if failures:
        print(f"{len(failures)} disagreement(s)")
        sys.exit(1)
    print("bank files and calendars agree with the independent oracles")


if __name__ == "__main__":
    main()
