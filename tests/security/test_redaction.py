"""redact() masks a secret however a server echoes it: as it is, URL-encoded, or as a form parameter."""

from __future__ import annotations

from urllib.parse import quote, quote_plus, urlencode

from canary_scan import Canary

from tuneport.errors import redact


def test_a_given_secret_is_masked_in_every_encoding(canary: Canary) -> None:
    token = canary.access_token
    for echoed in (token, quote(token, safe=""), quote_plus(token)):
        assert redact(f"bad token {echoed}!", [token]) == "bad token ***!"


def test_credential_parameters_of_a_form_are_masked_without_being_listed(canary: Canary) -> None:
    grant = {"refresh_token": canary.refresh_token, "client_secret": canary.client_secret}
    form = urlencode({"grant_type": "refresh_token", **grant})
    masked = redact(f"invalid_grant: {form}")
    assert masked == "invalid_grant: grant_type=refresh_token&refresh_token=***&client_secret=***"
