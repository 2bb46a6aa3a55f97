"""Scrapes a running Agora's /metrics, parses it with the Prometheus project's own Python
parser (prometheus_client), and checks that every metric the alert rules and the Grafana
dashboard in deploy/ name is exported, with HELP text.

usage: check_metrics.py METRICS_URL FILE...
"""
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    url, files = sys.argv[1], sys.argv[2:]
    with urllib.request.urlopen(url, timeout=10) as res:
        content_type = res.headers.get("content-type", "")
        text = res.read().decode("utf-8")
    if not content_type.startswith("text/plain; version=0.0.4"):
        print(f"unexpected content type {content_type!r}")
        return 1
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family
    # prometheus_client strips _total from counter family names.
    exported = set(families) | {f"{n}_total" for n, f in families.items() if f.type == "counter"}
    named = set()
    for path in files:
        for name in re.findall(r"(?<![A-Za-z0-9_])agora_[a-z0-9_]+", open(path).read()):
            named.add(re.sub(r"_(bucket|sum|count)$", "", name))
    missing = sorted(n for n in named if n not in exported)
    undocumented = sorted(n for n, f in families.items() if n.startswith("agora_") and not f.documentation)
    print(f"{len(families)} metric families exported; {len(named)} named in {', '.join(files)}")
    if missing:
        print("named but not exported:", ", ".join(missing))
    if undocumented:
        print("exported without HELP:", ", ".join(undocumented))
    return 1 if missing or undocumented else 0


if __name__ == "__main__":
    sys.exit(main())
