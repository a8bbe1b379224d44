"""The scans can fail: each one finds a canary planted where tuneport must never put it."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pydantic
import pytest
from canary_gather import DebugLog
from canary_scan import Canary, Evidence, assert_no_leak, find_leaks
from canary_wire import SentRequest, assert_credentials_only_in_headers


def test_each_form_of_each_secret_is_found(canary: Canary) -> None:
    forms = {
        "raw": canary.api_key,
        "url-encoded": quote(canary.access_token, safe=""),
        "form-encoded": quote_plus(canary.refresh_token),
        "partly masked": f"AIza***{canary.nonce}",
        "client secret": canary.client_secret,
    }
    for form, leak in forms.items():
        evidence = Evidence()
        evidence.add("clean", "nothing to see")
        evidence.add(form, f"GET /v1/x?token={leak}&page=2")
        assert list(find_leaks(evidence, canary)) == [form]
        with pytest.raises(AssertionError, match=form):
            assert_no_leak(evidence, canary)


def test_a_clean_scan_passes_and_an_empty_one_fails(canary: Canary) -> None:
    evidence = Evidence()
    with pytest.raises(AssertionError, match="nothing was gathered"):
        assert_no_leak(evidence, canary)
    evidence.add("clean", "AIzaSy*** and Bearer ***")
    assert_no_leak(evidence, canary)


def test_a_secret_behind_a_suppressed_context_is_found(canary: Canary) -> None:
    def fail() -> None:
        try:
            raise OSError(f"refused with {canary.access_token}")
        except OSError:
            raise RuntimeError("a clean message") from None  # hides the context from tracebacks

    with pytest.raises(RuntimeError) as info:
        fail()
    evidence = Evidence()
    evidence.add_exception("error", info.value)
    assert str(info.value) == "a clean message"
    assert any("chain[1] OSError" in surface for surface in find_leaks(evidence, canary))


def test_a_secret_only_in_a_json_dump_is_found(canary: Canary) -> None:
    class Leaky(pydantic.BaseModel):
        token: str = pydantic.Field(repr=False)

    evidence = Evidence()
    evidence.add_object("model", Leaky(token=canary.access_token))
    assert canary.access_token not in repr(Leaky(token=canary.access_token))
    assert "model.model_dump_json()" in find_leaks(evidence, canary)


def test_every_logger_is_captured_with_its_arguments(canary: Canary, request: pytest.FixtureRequest) -> None:
    quiet = logging.getLogger("canary.selftest.quiet")
    quiet.setLevel(logging.WARNING)
    isolated = logging.getLogger("canary.selftest.isolated")
    isolated.propagate = False
    try:
        debug_log: DebugLog = request.getfixturevalue("debug_log")
        quiet.debug("refreshing with %s", canary.refresh_token)
        # One mapping argument and no placeholder: the formatted message leaves it out.
        isolated.debug("sending headers", {"authorization": canary.access_token})
    finally:
        isolated.propagate = True
    assert {"canary.selftest.quiet", "canary.selftest.isolated"} <= debug_log.loggers
    evidence = Evidence()
    evidence.add("log", debug_log.text)
    assert find_leaks(evidence, canary)
    assert canary.access_token in debug_log.text
    assert quiet.level == logging.DEBUG  # lowered for the test, restored at teardown


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("url", "in the URL"),
        ("other header", "in the header"),
        ("no credential", "lacks its x-goog-api-key"),
    ],
)
def test_the_wire_check_finds_a_misplaced_credential(canary: Canary, where: str, message: str) -> None:
    headers = {"x-goog-api-key": canary.api_key}
    url = "http://127.0.0.1:1/v1beta/tunedModels"
    if where == "url":
        url += f"?key={canary.api_key}"
    elif where == "other header":
        headers["x-debug"] = canary.api_key
    else:
        headers = {}
    sent = [SentRequest("GET", url, headers)]
    with pytest.raises(AssertionError, match=message):
        assert_credentials_only_in_headers(sent, canary.needles(), ("x-goog-api-key", canary.api_key))
    with pytest.raises(AssertionError, match="no request"):
        assert_credentials_only_in_headers([], canary.needles(), ("x-goog-api-key", canary.api_key))
