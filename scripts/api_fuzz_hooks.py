"""Rules of the API that OpenAPI 3.1 cannot state, given to schemathesis's
generator (`SCHEMATHESIS_HOOKS`), so that a request the document calls valid
is one a correct client could send. Every check stays on; a case is changed
only where it is valid to begin with, and stays valid (a negative case keeps
what makes it invalid):

* an `Idempotency-Key` names one request: a client sends a fresh key per
  distinct request (the same key with another body is 422
  `idempotency-key-reused`, as the IETF Idempotency-Key draft says);
* the key and a body `commandId` are two ways to name the same command: a
  client sends one of them (both is 422);
* `version` and `asOf` on `/queries/account/{accountId}` pick one point in
  time: a client sends one of them (both is 422);
* a `commandId` names one command: a fresh one per distinct request;
* DailySummary's `from` is not after its `to` (422);
* a transfer's `toAccountId` differs from its `fromAccountId` (422).
"""

import re
import uuid
from datetime import datetime

import schemathesis

KEY_PATTERN = re.compile(r"^[!-~]{1,255}$")
UUID_PATTERN = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def _header(headers, name):
    return next((k for k in (headers or {}) if k.lower() == name.lower()), None)


def _rfc3339(value):
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _int_at_least_1(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    return isinstance(value, str) and value.isdigit() and int(value) >= 1


def _fresh_ids(case):
    """A fresh Idempotency-Key and a fresh commandId per request, where the
    generated ones are valid; one of the two when both are there."""
    key = _header(case.headers, "Idempotency-Key")
    if key is not None and isinstance(case.headers[key], str) and KEY_PATTERN.match(case.headers[key]):
        case.headers[key] = f"fuzz-{uuid.uuid4()}"
        if isinstance(case.body, dict) and isinstance(case.body.get("commandId"), str) and UUID_PATTERN.match(case.body["commandId"]):
            del case.body["commandId"]
    elif isinstance(case.body, dict) and isinstance(case.body.get("commandId"), str) and UUID_PATTERN.match(case.body["commandId"]):
        case.body["commandId"] = str(uuid.uuid4())


def _one_point_in_time(query):
    if isinstance(query, dict) and "version" in query and "asOf" in query:
        if _int_at_least_1(query["version"]) and _rfc3339(query["asOf"]):
            del query["asOf"]


def _days_in_order(query):
    """`from` after `to` is 422 (an empty range is a mistake, not a question)."""
    if isinstance(query, dict) and isinstance(query.get("from"), str) and isinstance(query.get("to"), str):
        try:
            start, end = (datetime.strptime(query[k], "%Y-%m-%d") for k in ("from", "to"))
        except ValueError:
            return
        if start > end:
            query["from"], query["to"] = query["to"], query["from"]


ACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _two_accounts(body):
    """A transfer moves money between two accounts (the same one twice is 422)."""
    if isinstance(body, dict):
        source, target = body.get("fromAccountId"), body.get("toAccountId")
        if isinstance(source, str) and source == target and ACCOUNT_PATTERN.match(source):
            body["toAccountId"] = source[:63] + ("x" if not source.endswith("x") else "y")


@schemathesis.hook
def map_case(ctx, case):
    _fresh_ids(case)
    _two_accounts(case.body)
    _one_point_in_time(case.query)
    _days_in_order(case.query)
    return case
