"""A small integration with the Python client openapi-python-client generates from
spec/openapi.json, run by .ci/contract against a live server: sign up, mint a key, create,
read, update (with If-Match) and list a link, read an error as a typed Problem, and read a
problem with a code this client does not know.

Usage: python3 check.py BASE_URL   (with the generated `portico_client` on sys.path)
"""

import sys
import time

from portico_client import AuthenticatedClient, Client
from portico_client.api.account import account_signup
from portico_client.api.apikeys import apikey_create
from portico_client.api.links import link_create, link_get, link_list, link_update
from portico_client.models import (
    CreateApiKeyRequest,
    CreateLinkRequest,
    ErrorCode,
    Link,
    LinkList,
    Problem,
    Scope,
    SessionCreated,
    SignupRequest,
    UpdateLinkRequest,
)


def expect(condition, what):
    if not condition:
        raise SystemExit(f"python client check failed: {what}")


def main(base):
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    email = f"python-client-{int(time.time() * 1000)}@example.com"
    session = account_signup.sync(
        client=anonymous,
        body=SignupRequest(email=email, password="correct horse battery staple", organization_name="Python client"),
    )
    expect(isinstance(session, SessionCreated), f"signup answered {session!r}")
    dashboard = AuthenticatedClient(base_url=base, token=session.token, raise_on_unexpected_status=True)
    created = apikey_create.sync(
        client=dashboard, body=CreateApiKeyRequest(name="python client", scopes=[Scope.FULL_ACCESS])
    )
    expect(created.key.startswith("ptk_"), "a key was minted")
    api = AuthenticatedClient(base_url=base, token=created.key, raise_on_unexpected_status=True)

    link = link_create.sync(client=api, body=CreateLinkRequest(url="https://example.com/python", tags=["python"]))
    expect(isinstance(link, Link), f"create answered {link!r}")
    expect(link.title is None and link.expires_at is None, "always-sent nullable fields are read as None")
    fetched = link_get.sync_detailed(client=api, id=link.id)
    expect(fetched.status_code == 200 and fetched.parsed.id == link.id, "the link reads back")
    etag = fetched.headers["etag"]

    updated = link_update.sync(client=api, id=link.id, body=UpdateLinkRequest(title="From Python"), if_match=etag)
    expect(isinstance(updated, Link) and updated.version == link.version + 1, f"update answered {updated!r}")
    stale = link_update.sync(client=api, id=link.id, body=UpdateLinkRequest(title="lost"), if_match=etag)
    expect(isinstance(stale, Problem) and stale.code == ErrorCode.VERSION_MISMATCH, f"a stale If-Match answered {stale!r}")

    page = link_list.sync(client=api, tag="python")
    expect(isinstance(page, LinkList) and page.total == 1 and page.data[0].title == "From Python", "the list finds it")

    missing = link_get.sync(client=api, id="lnk_01JD0Q8Y4T8W6Q0C4X5M9Z2B7N")
    expect(isinstance(missing, Problem) and missing.code == ErrorCode.NOT_FOUND, f"a missing link answered {missing!r}")
    expect(missing.request_id.startswith("req_"), "problems carry the request id")

    later = Problem.from_dict(
        {"type": "urn:portico:error:added_later", "title": "Added later", "status": 409,
         "detail": "A code this client was generated before.", "code": "added_later", "request_id": "req_x"}
    )
    expect(later.code == "added_later", "a code the client does not know is kept as a string")
    print("python client: signup, key, link create/get/update/list, If-Match, problems: ok")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
