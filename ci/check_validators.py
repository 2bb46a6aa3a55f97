#!/usr/bin/env python3
"""Check the validation table against independent implementations.

The Rust test onboarding/tests/validation_table.rs asserts that agora-onboarding's
validators give the `expected` column of the table; this script asserts that
python-stdnum and schwifty give it too, so the table (and through it the Rust code) is
checked by code nobody here wrote.

Usage: check_validators.py onboarding/tests/fixtures/validation_cases.csv

Installs nothing: .ci/run installs python-stdnum and schwifty first. Prints how many cases
each oracle agreed on and exits non-zero on any disagreement.
"""

import csv
import sys
from collections import Counter

import schwifty
from stdnum.eu import vat as eu_vat
from stdnum.se import orgnr, personnummer
from stdnum.us import ein, rtn

MIN_CASES = 80


def schwifty_accepts(cls, value):
    try:
        cls(value)
    except (ValueError, TypeError):
        # schwifty's exceptions derive from ValueError (SchwiftyException).
        return False
    return True


ORACLES = {
    "iban": ("schwifty.IBAN", lambda v: schwifty_accepts(schwifty.IBAN, v)),
    "bic": ("schwifty.BIC", lambda v: schwifty_accepts(schwifty.BIC, v)),
    "aba": ("stdnum.us.rtn", rtn.is_valid),
    "eu_vat": ("stdnum.eu.vat", eu_vat.is_valid),
    "ein": ("stdnum.us.ein", ein.is_valid),
    "personnummer": ("stdnum.se.personnummer", personnummer.is_valid),
    "organisationsnummer": ("stdnum.se.orgnr", orgnr.is_valid),
}


def main(path):
    agreed = Counter()
    total = Counter()
    problems = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["kind", "value", "expected", "note"]:
            print(f"{path}: header must be kind,value,expected,note, got {reader.fieldnames}")
            return 2
        for row in reader:
            line = reader.line_num
            kind, value, expected = row["kind"], row["value"], row["expected"]
            if kind not in ORACLES:
                problems.append(f"line {line}: unknown kind {kind!r}")
                continue
            if expected not in ("valid", "invalid"):
                problems.append(f"line {line}: expected must be valid or invalid, got {expected!r}")
                continue
            name, oracle = ORACLES[kind]
            total[name] += 1
            verdict = "valid" if oracle(value) else "invalid"
            if verdict == expected:
                agreed[name] += 1
            else:
                problems.append(
                    f"line {line}: {name} says {verdict}, the table says {expected}: "
                    f"{kind} {value!r} ({row['note']})"
                )

    for name, _ in ORACLES.values():
        print(f"{name}: agreed on {agreed[name]} of {total[name]} cases")
    cases = sum(total.values())
    if cases < MIN_CASES:
        problems.append(f"only {cases} cases; the table must have at least {MIN_CASES}")
    for p in problems:
        print(p)
    print(f"{sum(agreed.values())} passed, {cases - sum(agreed.values())} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
