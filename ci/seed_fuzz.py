"""Gives the fuzzed server money to move before schemathesis runs, so that the fuzzer's calls
to refunds, transfers, payouts and the payout run meet real balances and `agora ledger verify`
afterwards checks a ledger with entries in it.

    python3 ci/seed_fuzz.py BASE_URL API_KEY
Creates one charge-ready, payout-ready Swedish seller with a EUR bank account and a daily
payout schedule, charges it in EUR and USD, and lets the test clock settle the charges.
"""
import json
import sys
import urllib.request


def call(base, key, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read() or b"null")


def main():
    base, key = sys.argv[1].rstrip("/"), sys.argv[2]
    seller = call(base, key, "POST", "/v1/accounts", {
        "country": "SE",
        "email": "seed@example.se",
        "settlement_delay_days": 0,
        "business_type": "individual",
        "business_profile": {"mcc": "5734", "url": "https://shop.example.com"},
        "individual": {
            "first_name": "Seed", "last_name": "Seller", "email": "seed@example.se",
            "dob": "1990-01-02", "id_number": "19900102-1238", "phone": "+46701234567",
            "address": {"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22"},
        },
        "tos_acceptance": {"ip": "192.0.2.10"},
    })
    acct = seller["id"]
    call(base, key, "POST", f"/v1/accounts/{acct}/external_accounts", {
        "country": "SE", "currency": "eur", "iban": "SE7280000810340009783242",
        "account_holder_name": "Seed Seller",
    })
    call(base, key, "POST", f"/v1/accounts/{acct}/payout_settings",
         {"schedule": {"interval": "daily"}})
    charges = 0
    for amount, currency in [(12_000, "eur"), (3_456, "eur"), (9_999, "usd")]:
        call(base, key, "POST", "/v1/charges", {
            "amount": amount, "currency": currency, "destination": acct,
            "payment_method": "pm_card_visa",
        })
        charges += 1
    call(base, key, "POST", "/v1/test_helpers/advance_clock", {"seconds": 86_400})
    account = call(base, key, "GET", f"/v1/accounts/{acct}")
    if not account.get("payouts_enabled"):
        sys.exit(f"the seed seller cannot be paid out: {json.dumps(account['requirements'])}")
    print(f"seeded {acct}: {charges} charges, payouts enabled, daily schedule")


if __name__ == "__main__":
    main()
