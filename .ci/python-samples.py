"""Runs the Python sample (`requests`) of a representative set of operations, exactly as the
spec's x-codeSamples, the markdown pages and llms-full.txt show it, against a live server.
A sample fails when it exits non-zero (it calls `raise_for_status()`).

Usage: python3 .ci/python-samples.py spec/openapi.samples.json
       (with PORTICO_URL, PORTICO_API_KEY and PORTICO_SESSION set)
"""

import json
import subprocess
import sys
import tempfile

# In order: later samples use what earlier ones made (the `go.example.com` domain).
REPRESENTATIVE = [
    "health_check",
    "account_get",
    "apikey_list",
    "key_introspect",
    "domain_create",
    "domain_list",
    "link_create",
    "link_list",
    "usage_get",
    "request_list",
    "job_list",
    "webhook_list",
    "llms_txt_get",
    "operation_page_get",
    "guide_get",
]


def main(path):
    doc = json.load(open(path))
    samples = {}
    for item in doc["paths"].values():
        for op in item.values():
            for sample in op.get("x-codeSamples", []):
                if sample["lang"] == "Python":
                    samples[op["operationId"]] = sample["source"]
    missing = [op for op in REPRESENTATIVE if op not in samples]
    if missing:
        raise SystemExit(f"no Python sample for {missing}")
    failed = []
    for op in REPRESENTATIVE:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(samples[op])
        run = subprocess.run([sys.executable, f.name], capture_output=True, text=True, timeout=60)
        status = "ok" if run.returncode == 0 else "FAILED"
        first = (run.stdout.strip().splitlines() or [""])[0]
        print(f"  {op}: {status} {first[:100]}")
        if run.returncode != 0:
            failed.append(op)
            print(run.stderr[-1500:], file=sys.stderr)
    if failed:
        raise SystemExit(f"Python samples failed: {failed}")
    print(f"Python samples: {len(REPRESENTATIVE)} of {len(samples)} run, all ok")


if __name__ == "__main__":
    main(sys.argv[1])
