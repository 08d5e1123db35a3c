"""A schemathesis check: every 4xx answer is in the error envelope of the surface it came
from, named by GRANTD_ENVELOPE (native, segment or slashid). Loaded with
SCHEMATHESIS_HOOKS=envelope and PYTHONPATH=tests/sdk; enabled with `-c error_envelope`."""

import os

import schemathesis


def _native(body):
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and error["message"] != ""
    )


def _errors(field):
    def valid(body):
        errors = body.get("errors") if isinstance(body, dict) else None
        return (
            isinstance(errors, list)
            and len(errors) > 0
            and all(isinstance(e, dict) and field in e and isinstance(e.get("message"), str) for e in errors)
        )

    return valid


ENVELOPES = {"native": _native, "segment": _errors("type"), "slashid": _errors("httpcode")}


@schemathesis.check
def error_envelope(ctx, response, case):
    """A refusal (4xx) carries a JSON body in the surface's error envelope."""
    if not 400 <= response.status_code < 500:
        return
    surface = os.environ.get("GRANTD_ENVELOPE", "native")
    try:
        body = response.json()
    except Exception as exc:  # noqa: BLE001 - any unreadable body fails the check
        raise AssertionError(f"{response.status_code} without a JSON body: {response.text[:200]!r}") from exc
    if not ENVELOPES[surface](body):
        raise AssertionError(f"{response.status_code} not in the {surface} envelope: {response.text[:300]}")
