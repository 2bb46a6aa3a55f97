"""Verifies a webhook Agora delivered with the PyPI `standardwebhooks` package, a verifier
written by others: the system test saved one received request (headers, body, secret)."""

import json
import sys

from standardwebhooks.webhooks import Webhook

path = sys.argv[1] if len(sys.argv) > 1 else "target/webhook-sample.json"
with open(path, encoding="utf-8") as f:
    sample = json.load(f)

# Raises WebhookVerificationError on a bad signature or a stale timestamp.
payload = Webhook(sample["secret"]).verify(sample["body"], sample["headers"])
print(f"standardwebhooks verified {sample['headers']['webhook-id']} ({payload['type']})")
