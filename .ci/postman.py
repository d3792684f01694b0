#!/usr/bin/env python3
"""newman on the Postman collection, in both of its modes, against a live server.

1. Demo: `demo=true`, the whole collection: it signs up a throwaway organisation and runs
   every folder against it.
2. A real account: an organisation made here, with things of its own (a key, a domain, a
   link, a webhook), whose key and session are given to the collection as a user would:
   - the whole collection with the key, the session, and the email and password;
   - the whole collection with only the key (the dashboard requests skip themselves);
   - every folder alone, with the key and the session.
   After each run: zero failures; no sign-up reached the server and every sign-in was signed
   out (the server's own request counters say so); the account's key and session still work;
   its links, domains, webhooks and active keys are exactly what they were.

Usage: postman.py BASE_URL NEWMAN COLLECTION REPORTS_DIR WEBHOOK_URL
"""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import requests

BASE, NEWMAN, COLLECTION, REPORTS, WEBHOOK_URL = sys.argv[1:6]
REPORTS = Path(REPORTS)
PASSWORD = "correct horse battery staple"
RUN = uuid.uuid4().hex[:8]
EMAIL = f"postman-owner-{RUN}@example.com"
TIMEOUT = 10


def call(method, path, token, expected, **kwargs):
    response = requests.request(
        method, BASE + path, headers={"authorization": f"Bearer {token}"}, timeout=TIMEOUT, **kwargs
    )
    if response.status_code != expected:
        sys.exit(f"{method} {path}: expected {expected}, got {response.status_code}: {response.text}")
    return response.json() if response.content else None


def newman(name, folders=(), **variables):
    """Runs the collection (or the folders named) and returns its JSON report's `run`."""
    report = REPORTS / f"newman-{name}.json"
    command = [NEWMAN, "run", COLLECTION, "--color", "off", "--reporters", "cli,json"]
    command += ["--reporter-json-export", str(report)]
    command += ["--env-var", f"baseUrl={BASE}", "--env-var", f"webhookUrl={WEBHOOK_URL}"]
    for key, value in variables.items():
        command += ["--env-var", f"{key}={value}"]
    for folder in folders:
        command += ["--folder", folder]
    print(f"--- newman: {name}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    run = json.loads(report.read_text())["run"] if report.exists() else None
    if done.returncode != 0 or run is None or run["failures"]:
        print(done.stdout[-20000:], done.stderr[-5000:], sep="\n", file=sys.stderr)
        sys.exit(f"newman ({name}) failed")
    stats = run["stats"]
    ran = len({execution["item"]["id"] for execution in run["executions"]})
    print(
        f"    {ran} of {stats['items']['total']} requests ran ({stats['items']['total'] - ran} skipped), "
        f"{stats['assertions']['total']} assertions, 0 failed"
    )
    return ran


def answered(route, method="POST"):
    """How many calls the server has answered on a route (any status), from its metrics."""
    metrics = requests.get(BASE + "/metrics", timeout=TIMEOUT).text
    prefix = f'portico_http_requests_total{{method="{method}",route="{route}",'
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(prefix))


def snapshot(key, session):
    """What the account has: its links, domains, webhooks and active keys, as they are."""

    def listed(path, token, fields):
        items = call("GET", f"{path}?limit=100", token, 200)["data"]
        return sorted(tuple(item.get(field) for field in fields) for item in items)

    return {
        "links": listed("/v1/links", key, ("id", "slug", "url", "title", "updated_at")),
        "domains": listed("/v1/domains", key, ("id", "hostname")),
        "webhooks": listed("/v1/webhooks", key, ("id", "url", "enabled", "events")),
        "keys": listed("/api/developer/apikeys", session, ("id", "name", "status", "scopes")),
        "members": listed("/api/developer/members", session, ("user_id", "role")),
        "invitations": listed("/api/developer/invitations", session, ("id", "email", "role")),
        "organization": tuple(
            call("GET", "/api/developer/organization", session, 200).get(field)
            for field in ("name", "monthly_quota", "default_rate_limit_rpm")
        ),
    }


def main():
    REPORTS.mkdir(parents=True, exist_ok=True)

    signups = answered("/api/developer/signup")
    newman("demo", demo="true")
    # The demo organisation, and the second person its team folder invites in.
    if answered("/api/developer/signup") != signups + 2:
        sys.exit("the demo run did not sign up exactly the demo organisation and its invitee")

    # A real account, with things of its own.
    account = requests.post(
        BASE + "/api/developer/signup",
        json={"email": EMAIL, "password": PASSWORD, "organization_name": "Real account"},
        timeout=TIMEOUT,
    )
    account.raise_for_status()
    session = account.json()["token"]
    created = call("POST", "/api/developer/apikeys", session, 201, json={"name": "mine", "scopes": ["full_access"]})
    key = created["key"]
    call("POST", "/api/developer/apikeys", session, 201, json={"name": "reporting", "scopes": ["links:read"]})
    call("POST", "/v1/domains", key, 201, json={"hostname": f"links-{RUN}.example.com"})
    call("POST", "/v1/links", key, 201, json={"url": "https://example.com/mine", "slug": f"mine-{RUN}", "tags": ["mine"]})
    call("POST", "/v1/webhooks", key, 201, json={"url": WEBHOOK_URL, "events": ["link.created"]})
    call("POST", "/api/developer/invitations", session, 201, json={"email": f"colleague-{RUN}@example.com", "role": "viewer"})
    before = snapshot(key, session)

    def unchanged(name):
        if call("GET", "/v1/key", key, 200)["id"] != created["id"]:
            sys.exit(f"{name}: the account's key changed")
        call("GET", "/api/developer/me", session, 200)
        after = snapshot(key, session)
        if after != before:
            sys.exit(f"{name} left the account changed:\nbefore {before}\nafter  {after}")

    runs = [
        ("account-whole", (), {"apiKey": key, "sessionToken": session, "email": EMAIL, "password": PASSWORD}),
        ("account-key-only", (), {"apiKey": key}),
    ]
    folders = [folder["name"] for folder in json.loads(Path(COLLECTION).read_text())["item"]]
    runs += [(f"account-{folder}", (folder,), {"apiKey": key, "sessionToken": session}) for folder in folders]
    for name, only, variables in runs:
        signups, sign_ins, sign_outs = (answered(f"/api/developer/{r}") for r in ("signup", "login", "logout"))
        ran = newman(name, only, **variables)
        if answered("/api/developer/signup") != signups:
            sys.exit(f"{name} signed up an organisation without being asked")
        if answered("/api/developer/login") - sign_ins != answered("/api/developer/logout") - sign_outs:
            sys.exit(f"{name} left a session it signed in with")
        if ran == 0 and only != ("Demo organisation",):
            sys.exit(f"{name} sent nothing")
        unchanged(name)
    print(f"newman: the demo run and {len(runs)} runs on an account, green; the account left as it was")


if __name__ == "__main__":
    main()
