"""A client generated from the served API description, by a generator that is not ours
(openapi-python-client from PyPI), creates a charge-ready seller and a charge to it.

    python3 ci/generated_client.py BASE_URL API_KEY

Fails if the generator cannot read the document (or leaves an operation out), or if the typed
client cannot make the calls or parse the answers.
"""
import importlib
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def main():
    base, key = sys.argv[1].rstrip("/"), sys.argv[2]
    work = Path(tempfile.mkdtemp(prefix="agora-client-"))
    spec = work / "openapi.json"
    with urllib.request.urlopen(f"{base}/v1/openapi.json", timeout=30) as res:
        spec.write_bytes(res.read())
    run = subprocess.run(
        ["openapi-python-client", "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(work / "agora_client")],
        capture_output=True, text=True,
    )
    print(run.stdout + run.stderr)
    # A warning means an operation or a model was left out: the document must be fixed.
    if run.returncode != 0 or "Warning" in run.stdout + run.stderr:
        sys.exit("openapi-python-client could not generate the whole client")
    sys.path.insert(0, str(work))
    client_mod = importlib.import_module("agora_client")
    accounts = importlib.import_module("agora_client.api.accounts.create")
    charges = importlib.import_module("agora_client.api.charges.create")
    models = importlib.import_module("agora_client.models")

    client = client_mod.AuthenticatedClient(base_url=base, token=key)

    # The KYC minimum for a Swedish individual to take charges (tests/it/helpers.rs seller_body).
    seller = models.CreateAccountRequest.from_dict({
        "country": "SE",
        "email": "generated@example.se",
        "business_type": "individual",
        "business_profile": {"mcc": "5734", "url": "https://shop.example.com"},
        "individual": {
            "first_name": "Gena", "last_name": "Rated", "email": "generated@example.se",
            "dob": "1990-01-02", "id_number": "19900102-1238",
        },
        "tos_acceptance": {"ip": "192.0.2.10"},
        "metadata": {"from": "generated_client"},
    })
    res = accounts.sync_detailed(client=client, body=seller)
    assert res.status_code == 200, (res.status_code, res.content)
    account = res.parsed
    assert isinstance(account, models.AccountObject), type(account)
    assert account.id.startswith("acct_"), account.id
    assert account.charges_enabled is True, json.loads(res.content)
    print(f"account {account.id}: charges_enabled={account.charges_enabled}")

    charge_body = models.CreateChargeRequest.from_dict({
        "amount": 2500,
        "currency": "sek",
        "destination": account.id,
        "payment_method": "pm_card_visa",
        "description": "generated client smoke test",
    })
    res = charges.sync_detailed(client=client, body=charge_body, idempotency_key=f"gen-{account.id}")
    assert res.status_code == 200, (res.status_code, res.content)
    charge = res.parsed
    assert isinstance(charge, models.ChargeObject), type(charge)
    assert charge.id.startswith("ch_"), charge.id
    assert charge.amount == 2500 and charge.currency == "sek", json.loads(res.content)
    assert charge.status == "succeeded", json.loads(res.content)
    print(f"charge {charge.id}: {charge.amount} {charge.currency} {charge.status} to {account.id}")

    # An error comes back as the documented error body.
    res = charges.sync_detailed(client=client, body=models.CreateChargeRequest.from_dict({
        "amount": 2500, "currency": "sek", "destination": "acct_00000000000000000000000000",
        "payment_method": "pm_card_visa",
    }))
    assert res.status_code == 400, (res.status_code, res.content)
    assert isinstance(res.parsed, models.ErrorBody), type(res.parsed)
    print(f"error body parsed: {res.parsed.error.code}")


if __name__ == "__main__":
    main()
