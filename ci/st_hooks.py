"""Schemathesis hooks for .ci/run (SCHEMATHESIS_HOOKS=st_hooks, PYTHONPATH=ci): three rules of
the API that a schema cannot state, so that schema-valid draws do not break them by chance.

- An Idempotency-Key names one request: the same key with other parameters is refused (400
  idempotency_key_reused). The fuzzer draws keys from a small space ("null", "0", …) and would
  reuse them across operations, so each key it sends is made unique, as a client's would be.
- starting_after and ending_before are not sent together (400 parameter_conflict).
- Integral numbers are sent as integers: JSON Schema counts 2.0 as an integer, the API refuses
  it where it wants minor units or days.

Only schema-valid draws are touched: invalid ones (negative cases) and probes of a missing
parameter go as drawn.
"""
import re
import uuid

import schemathesis

_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return
    # A probe of a missing parameter (the Authorization header, say) is left as drawn.
    if "MISSING" in str(getattr(meta.phase.data, "scenario", "")).upper():
        return
    unique_idempotency_key(case)
    one_cursor(case)
    integral_numbers_as_integers(case)


def integral_numbers_as_integers(case):
    """JSON Schema counts 2.0 as an integer; the API reads integers as written and refuses
    `2.0` where it wants minor units or days (`amount must be an integer … not 2.0`)."""

    def fix(value):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    if isinstance(case.body, (dict, list, float)):
        case.body = fix(case.body)


def unique_idempotency_key(case):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and _VALID.match(value):
                headers[name] = f"{value[:200]}-{uuid.uuid4()}"


def one_cursor(case):
    """`starting_after` and `ending_before` page in opposite directions: a list takes one of
    them (400 parameter_conflict for both, as its description says). OpenAPI cannot tie two
    query parameters together, so a schema-valid draw with both keeps only `starting_after`."""
    query = case.query or {}
    if "starting_after" in query and "ending_before" in query:
        del query["ending_before"]
