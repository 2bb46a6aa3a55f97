"""Checks bank files that real payout runs wrote (saved by the system tests when
AGORA_BANK_FILE_SAMPLES is set) with checkers written by others: every pain.001 against the
pain.001.001.09 XSD shipped in PyPI `sepaxml` (xmllint), every NACHA file read back with PyPI
`carta-ach`. The totals must equal what the API said about the batch."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

from ach.parser import Parser

from check_bank_files import find_xsd


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_run_files.py DIR")
    folder = sys.argv[1]
    xsd = find_xsd("sepaxml", "pain.001.001.09.xsd")
    failures = []
    seen = {"xml": 0, "ach": 0}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".batch.json"):
            continue
        path = os.path.join(folder, name)
        with open(path + ".batch.json", encoding="utf-8") as f:
            batch = json.load(f)
        if name.endswith(".xml"):
            seen["xml"] += 1
            result = subprocess.run(["xmllint", "--noout", "--schema", xsd, path],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                failures.append(f"{name}: {result.stderr.strip()}")
            ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
            txs = ET.parse(path).getroot().findall(".//p:CdtTrfTxInf", ns)
            total = sum(Decimal(t.find("p:Amt/p:InstdAmt", ns).text) for t in txs)
            if len(txs) != batch["entry_count"] or total * 100 != batch["total"]:
                failures.append(f"{name}: {len(txs)} credits / {total} EUR, the API said "
                                f"{batch['entry_count']} / {batch['total']} cents")
            print(f"{name}: valid against {os.path.basename(xsd)}, {len(txs)} credits, {total} EUR")
        elif name.endswith(".ach"):
            seen["ach"] += 1
            with open(path, encoding="ascii") as f:
                data = Parser(f.read()).as_dict()
            entries = [e["entry_detail"] for b in data["batches"] for e in b["entries"]]
            total = sum(int(e["amount"]) for e in entries)
            control = data["file_control"]
            if (len(entries) != batch["entry_count"] or total != batch["total"]
                    or int(control["credit_amount"]) != total
                    or int(control["entadd_count"]) != len(entries)):
                failures.append(f"{name}: carta-ach read {len(entries)} entries / {total} cents "
                                f"(control {control['entadd_count']} / {control['credit_amount']}), "
                                f"the API said {batch['entry_count']} / {batch['total']}")
            print(f"{name}: carta-ach read {len(entries)} entries, {total} cents")
    if seen["xml"] == 0 or seen["ach"] == 0:
        failures.append(f"expected pain.001 and NACHA samples, found {seen}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"payout-run files agree with the independent checkers ({seen})")


if __name__ == "__main__":
    main()
