"""No input makes the authorization server answer 500: random forms, headers and queries.

Found this way once: an Authorization header Authlib's Basic parser raised on.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.gateway.conftest import fhir, signing_key, status_cache  # noqa: F401 - fixtures

FIELDS = st.sampled_from(
    ["grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
     "refresh_token", "scope", "client_assertion", "client_assertion_type", "resource", "aud",
     "token", "token_type_hint", "state", "response_type", "code_challenge",
     "code_challenge_method", "launch", "nonce", "x"]
)  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["authorization_code", "client_credentials", "refresh_token", "code", "S256", "plain",
         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "a.b.c", "system/*.rs",
         "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "openid fhirUser launch/patient"]
    ),
)  # fmt: skip
# Header values a client could send (the test client refuses line breaks itself).
HEADER = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=40),
    st.sampled_from(["Basic", " Basic", "Basic /w==", "Basic Og==", "Bearer", "Bearer  "]),
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    form=st.lists(st.tuples(FIELDS, VALUES), max_size=8),
    path=st.sampled_from(
        ["/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/userinfo", "/oauth/launch"]
    ),
    authorization=HEADER,
)
def test_no_form_is_a_server_error(client, fhir, form, path, authorization) -> None:  # noqa: F811
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post(path, data=MultiDict(form), headers=headers)
    assert response.status_code < 500, (path, response.get_data(as_text=True)[:300])


@FUZZ
@given(query=st.lists(st.tuples(FIELDS, VALUES), max_size=9))
def test_no_authorization_request_is_a_server_error(client, fhir, query) -> None:  # noqa: F811
    response = client.get("/oauth/authorize", query_string=query)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
