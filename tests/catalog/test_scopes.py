from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask, session
from flask_babel import refresh

from catalog.fhir_types import RESOURCE_TYPES
from catalog.scopes import (
    MAX_LENGTH,
    MAX_SCOPES,
    NAMED_SCOPES,
    Audience,
    Context,
    NamedScope,
    ResourceScope,
    check_requested,
    covers,
    explain,
    intersect,
    parse_scope,
    parse_scopes,
    resource_name,
    resource_types,
)
from torget.errors import Invalid

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


def scopes(text: str) -> list:
    return parse_scopes(text)


def texts(result: list) -> list[str]:
    return [str(s) for s in result]


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context", "resource", "permissions", "query"),
    [
        ("patient/Observation.rs", "patient", "Observation", "rs", ()),
        ("patient/Patient.r", "patient", "Patient", "r", ()),
        ("user/Appointment.cruds", "user", "Appointment", "cruds", ()),
        ("system/*.rs", "system", "*", "rs", ()),
        ("patient/*.cruds", "patient", "*", "cruds", ()),
        ("patient/Observation.c", "patient", "Observation", "c", ()),
        ("patient/Observation.u", "patient", "Observation", "u", ()),
        ("patient/Observation.d", "patient", "Observation", "d", ()),
        ("patient/Observation.s", "patient", "Observation", "s", ()),
        ("patient/Observation.cu", "patient", "Observation", "cu", ()),
        ("system/Encounter.cud", "system", "Encounter", "cud", ()),
        ("user/VisionPrescription.rs", "user", "VisionPrescription", "rs", ()),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient",
            "Observation",
            "rs",
            (("category", "vital-signs"),),
        ),
        (
            f"patient/Observation.rs?category={LAB}",
            "patient",
            "Observation",
            "rs",
            (("category", LAB),),
        ),
        (
            "user/Observation.rs?code=http://loinc.org|8480-6&category=vital-signs",
            "user",
            "Observation",
            "rs",
            (("category", "vital-signs"), ("code", "http://loinc.org|8480-6")),
        ),
        (
            "patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes",
            "patient",
            "Observation",
            "rs",
            (("code:in", "http://valueset.example.org/ValueSet/diabetes-codes"),),
        ),
        (
            "patient/Observation.rs?patient.birthdate=1990",
            "patient",
            "Observation",
            "rs",
            (("patient.birthdate", "1990"),),
        ),
        ("patient/*.rs?_tag=news2", "patient", "*", "rs", (("_tag", "news2"),)),
        ("patient/Condition.rs?code=a%20b", "patient", "Condition", "rs", (("code", "a b"),)),
        # FHIR search: a repeated parameter means both (AND).
        (
            "patient/Observation.rs?category=a&category=b",
            "patient",
            "Observation",
            "rs",
            (("category", "a"), ("category", "b")),
        ),
    ],
)
def test_v2_resource_scopes(text, context, resource, permissions, query):
    scope = parse_scope(text)
    assert isinstance(scope, ResourceScope)
    assert (scope.context, scope.resource, scope.permissions, scope.query) == (
        context,
        resource,
        permissions,
        query,
    )
    assert scope.context is Context(context)
    assert scope.text == str(scope) == text
    # The canonical text reads back as the same scope.
    assert parse_scope(scope.canonical) == scope


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("patient/Observation.read", "patient/Observation.rs"),
        ("user/Observation.write", "user/Observation.cud"),
        ("patient/*.*", "patient/*.cruds"),
        ("system/*.read", "system/*.rs"),
        ("user/MedicationRequest.*", "user/MedicationRequest.cruds"),
    ],
)
def test_v1_scopes_map_to_v2_and_keep_their_text(text, canonical):
    scope = parse_scope(text)
    assert scope.canonical == canonical
    assert scope.text == str(scope) == text
    assert scope == parse_scope(canonical)


def test_canonical_text_sorts_and_escapes_the_query():
    scope = parse_scope("patient/Observation.rs?code=x&category=vital-signs")
    assert scope.text == "patient/Observation.rs?code=x&category=vital-signs"
    assert scope.canonical == "patient/Observation.rs?category=vital-signs&code=x"
    assert scope == parse_scope("patient/Observation.rs?category=vital-signs&code=x")
    spaced = parse_scope("patient/Condition.rs?code=a+b%26c")
    assert spaced.query == (("code", "a b&c"),)
    assert spaced.canonical == "patient/Condition.rs?code=a%20b%26c"
    assert parse_scope(spaced.canonical) == spaced


def test_a_scope_built_in_code_is_normalised():
    scope = ResourceScope("patient", "Observation", "sr", (("b", "2"), ("a", "1"), ("a", "1")))
    assert scope.context is Context.PATIENT
    assert scope.permissions == "rs"
    assert scope.query == (("a", "1"), ("b", "2"))
    assert scope.text == "patient/Observation.rs?a=1&b=2"


@pytest.mark.parametrize("name", NAMED_SCOPES)
def test_named_scopes(name):
    scope = parse_scope(name)
    assert scope == NamedScope(name)
    assert scope.text == scope.canonical == str(scope) == name


def test_named_scopes_are_the_ones_smart_defines():
    assert set(NAMED_SCOPES) == {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    }
    with pytest.raises(ValueError, match="not a named SMART scope"):
        NamedScope("launch/imagingstudy")


def test_every_r4_resource_type_is_known():
    assert len(RESOURCE_TYPES) == len(set(RESOURCE_TYPES)) == 146
    for resource in RESOURCE_TYPES:
        assert parse_scope(f"user/{resource}.r").resource == resource


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("patient/", "write a resource scope as context/ResourceType.permissions"),
        ("patient/Observation", "write a resource scope as"),
        ("patient/.rs", "write a resource scope as"),
        ("patient/*", "write a resource scope as"),
        ("patient/Observation.", "permissions are letters of cruds in that order"),
        ("patient/Observation.rx", "permissions are letters of cruds"),
        ("patient/Observation.sr", "permissions are letters of cruds"),
        ("patient/Observation.rr", "permissions are letters of cruds"),
        ("patient/Observation.dus", "permissions are letters of cruds"),
        ("patient/Observation.Read", "permissions are letters of cruds"),
        ("patient/Observation.rs.x", "permissions are letters of cruds"),
        ("patient/Foo.read", "Foo is not a FHIR R4 resource type"),
        ("patient/observation.rs", "observation is not a FHIR R4 resource type"),
        ("patient/Resource.rs", "Resource is not a FHIR R4 resource type"),
        ("patient/DomainResource.rs", "DomainResource is not a FHIR R4 resource type"),
        ("patient/Citation.rs", "Citation is not a FHIR R4 resource type"),  # R4B and later
        ("*/*.*", "a resource scope starts with patient/, user/ or system/"),
        ("Patient/Observation.rs", "starts with patient/, user/ or system/"),
        ("https://ehr.example.org/scopes/photo.manage", "starts with patient/, user/ or system/"),
        ("patient/Observation.rs?", "the query after ? must be param=value pairs joined by &"),
        ("patient/Observation.rs?category", "must be param=value pairs"),
        ("patient/Observation.rs?category=", "must be param=value pairs"),
        ("patient/Observation.rs?=vital-signs", "must be param=value pairs"),
        ("patient/Observation.rs?a=1&&b=2", "must be param=value pairs"),
        ("patient/Observation.rs?a=1&", "must be param=value pairs"),
        ("patient/Observation.rs?1a=x", "must be param=value pairs"),
        ("patient/Observation.rs?code=%zz", "must be param=value pairs"),
        ("patient/Observation.rs?code=%0A", "must be param=value pairs"),
        ("patient/Observation.read?category=x", "a query needs v2 permissions"),
        ("patient/Observation.*?category=x", "a query needs v2 permissions"),
        ("patient/Observation.read?", "a query needs v2 permissions"),
        ("launch/diagnosticreport", "is not a SMART scope Torget knows"),
        ("launch/Patient", "is not a SMART scope Torget knows"),
        ("fhiruser", "is not a SMART scope Torget knows"),
        ("OpenID", "is not a SMART scope Torget knows"),
        ("__profilePhoto.manage", "is not a SMART scope Torget knows"),
        ("patient/Øbservation.rs", "has characters a scope cannot have"),
        ("patient/Observation.rs?code=blodtrykk✓", "has characters a scope cannot have"),
        ("patient/Observation.rs openid", "has characters a scope cannot have"),
        ("patient/Observation.rs\t", "has characters a scope cannot have"),
        ('patient/Observation.rs?code="x"', "has characters a scope cannot have"),
        ("patient\\Observation.rs", "has characters a scope cannot have"),
    ],
)
def test_invalid_scopes_are_refused_by_name(text, says):
    with pytest.raises(Invalid) as caught:
        parse_scope(text)
    error = caught.value
    assert says in error.detail
    assert error.fields == {"scope": [error.detail]}
    # The message names the scope (control characters escaped).
    assert text.replace("\t", "\\t") in error.detail


def test_an_empty_scope_is_refused():
    with pytest.raises(Invalid, match="Enter at least one scope"):
        parse_scope("")


def test_a_long_scope_is_cut_short_in_the_message():
    text = "patient/Observation.rs?code=" + "x" * 500 + "&"
    with pytest.raises(Invalid) as caught:
        parse_scope(text, field="requested")
    detail = caught.value.detail
    assert detail.startswith("patient/Observation.rs?code=xxx")
    assert "…" in detail
    assert len(detail) < 200
    assert list(caught.value.fields) == ["requested"]


def test_parse_scopes_keeps_order_and_drops_repeats():
    parsed = scopes(
        "launch openid fhirUser patient/Observation.read patient/Patient.r "
        "openid patient/Observation.rs patient/Observation.rs?b=2&a=1 "
        "patient/Observation.rs?a=1&b=2"
    )
    assert texts(parsed) == [
        "launch",
        "openid",
        "fhirUser",
        # One grant, two spellings: the first is kept.
        "patient/Observation.read",
        "patient/Patient.r",
        "patient/Observation.rs?b=2&a=1",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "openid  launch",
        " openid",
        "openid ",
        "openid\tlaunch",
        "openid\nlaunch",
        "openid\r\nlaunch",
        "openid\u00a0launch",
        " ",
    ],
)
def test_scopes_are_separated_by_single_spaces(text):
    with pytest.raises(Invalid, match="Separate the scopes with single spaces") as caught:
        parse_scopes(text)
    assert list(caught.value.fields) == ["scopes"]


def test_empty_text_is_refused():
    with pytest.raises(Invalid, match="Enter at least one scope"):
        parse_scopes("")


def test_at_most_a_hundred_scopes():
    assert scopes(" ".join(["openid"] * MAX_SCOPES)) == [NamedScope("openid")]
    with pytest.raises(Invalid, match="Ask for at most 100 scopes"):
        parse_scopes(" ".join(["openid"] * (MAX_SCOPES + 1)))


def test_at_most_two_thousand_characters():
    head = "patient/Observation.rs?code="
    longest = head + "x" * (MAX_LENGTH - len(head))
    assert len(longest) == MAX_LENGTH
    assert scopes(longest)[0].query == (("code", "x" * (MAX_LENGTH - len(head))),)
    with pytest.raises(Invalid, match="at most 2000 characters"):
        parse_scopes(longest + "x")
    with pytest.raises(Invalid, match="at most 2000 characters"):
        parse_scopes("a" * 1_000_000)


def test_every_bad_scope_is_reported_at_once():
    with pytest.raises(Invalid) as caught:
        parse_scopes(
            "openid patient/Foo.rs patient/Observation.sr patient/Foo.rs launch", field="scope"
        )
    error = caught.value
    assert error.detail == "patient/Foo.rs: Foo is not a FHIR R4 resource type."
    assert error.fields == {
        "scope": [
            "patient/Foo.rs: Foo is not a FHIR R4 resource type.",
            "patient/Observation.sr: permissions are letters of cruds in that order (e.g. rs), "
            "or read, write or *.",
        ]
    }


# --- what an app may ask for ---------------------------------------------------------------


def refused(text: str, audience: str) -> list[str]:
    with pytest.raises(Invalid) as caught:
        check_requested(scopes(text), audience)
    messages = caught.value.fields["scopes"]
    assert caught.value.detail == messages[0]
    return messages


@pytest.mark.parametrize(
    ("audience", "text"),
    [
        (
            "clinician",
            "launch launch/patient launch/encounter openid fhirUser profile offline_access "
            "online_access patient/*.rs user/*.rs user/Observation.cruds "
            "patient/Observation.rs?category=vital-signs patient/Observation.*",
        ),
        (
            "patient",
            "launch launch/patient openid fhirUser profile offline_access online_access "
            "patient/Observation.rs patient/MedicationRequest.cruds patient/Patient.read",
        ),
        (
            "backend",
            f"system/*.rs system/*.read system/Encounter.cud system/Observation.rs?category={LAB}",
        ),
    ],
)
def test_what_each_audience_may_ask_for(audience, text):
    check_requested(scopes(text), audience)


@pytest.mark.parametrize(
    ("audience", "text", "says"),
    [
        ("clinician", "system/Observation.rs", "only backend services can ask for system/"),
        ("clinician", "user/*.cruds", "write access (c, u, d) to every resource type (*)"),
        ("clinician", "patient/*.*", "write access (c, u, d) to every resource type (*)"),
        ("clinician", "user/*.write", "write access (c, u, d) to every resource type (*)"),
        ("clinician", "patient/*.c", "write access"),
        ("clinician", "patient/*.ds?_tag=x", "write access"),
        ("patient", "user/Observation.rs", "a patient app can only ask for patient/ scopes"),
        ("patient", "system/Observation.rs", "a patient app can only ask for patient/ scopes"),
        ("patient", "patient/*.rs", "a patient app must name the resource types it uses, not *"),
        ("patient", "patient/*.*", "a patient app must name the resource types it uses, not *"),
        ("backend", "patient/Observation.rs", "a backend service can only ask for system/"),
        ("backend", "user/Observation.rs", "a backend service can only ask for system/"),
        ("backend", "system/*.cruds", "write access (c, u, d) to every resource type (*)"),
        ("backend", "system/*.write", "write access"),
    ],
)
def test_what_each_audience_may_not_ask_for(audience, text, says):
    (message,) = refused(text, audience)
    assert message.startswith(f"{text}: ")
    assert says in message


@pytest.mark.parametrize("name", NAMED_SCOPES)
def test_a_backend_service_asks_for_no_named_scope(name):
    (message,) = refused(f"system/Observation.rs {name}", "backend")
    assert message == (
        f"{name}: a backend service has no user and no launch, so it cannot ask for this scope."
    )


@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_fhir_user_and_profile_come_with_openid(audience):
    assert refused("launch fhirUser profile", audience) == [
        "fhirUser needs openid as well.",
        "profile needs openid as well.",
    ]
    check_requested(scopes("launch openid fhirUser profile"), audience)


def test_the_named_bad_input_is_refused_clearly():
    # Does not parse: no context is called *.
    with pytest.raises(Invalid) as caught:
        parse_scopes("launch/patient */*.*")
    assert caught.value.detail == (
        "*/*.*: a resource scope starts with patient/, user/ or system/."
    )
    # Parses, but a patient app asks for everything.
    assert refused("launch/patient patient/*.*", "patient") == [
        "patient/*.*: a patient app must name the resource types it uses, not *."
    ]


def test_every_policy_problem_is_reported():
    messages = refused("openid user/*.rs system/*.rs patient/Observation.rs fhirUser", "patient")
    assert messages == [
        "user/*.rs: a patient app can only ask for patient/ scopes.",
        "system/*.rs: a patient app can only ask for patient/ scopes.",
    ]


def test_audience_is_checked():
    check_requested(scopes("system/*.rs"), Audience.BACKEND)
    with pytest.raises(ValueError, match="nurse"):
        check_requested(scopes("openid"), "nurse")


# --- set algebra ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broader", "narrower", "expected"),
    [
        ("patient/Observation.rs", "patient/Observation.r", True),
        ("patient/Observation.r", "patient/Observation.rs", False),
        ("patient/Observation.rs", "patient/Observation.rs", True),
        ("patient/Observation.cruds", "patient/Observation.cd", True),
        ("patient/Observation.cu", "patient/Observation.rs", False),
        ("patient/*.rs", "patient/Observation.rs", True),
        ("patient/*.rs", "patient/*.s", True),
        ("patient/Observation.rs", "patient/*.rs", False),
        ("patient/Observation.rs", "patient/Condition.rs", False),
        # Contexts stay apart: user/ does not imply patient/, nor the reverse.
        ("user/Observation.rs", "patient/Observation.rs", False),
        ("patient/Observation.rs", "user/Observation.rs", False),
        ("system/*.cruds", "patient/Observation.r", False),
        ("user/*.cruds", "system/Observation.r", False),
        # Queries: absent covers any; otherwise only the very same one.
        ("patient/Observation.rs", "patient/Observation.rs?category=vital-signs", True),
        ("patient/Observation.rs?category=vital-signs", "patient/Observation.rs", False),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.r?category=vital-signs",
            True,
        ),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.rs?category=laboratory",
            False,
        ),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.rs?category=vital-signs&code=8480-6",
            False,
        ),
        ("patient/Observation.rs?a=1&b=2", "patient/Observation.rs?b=2&a=1", True),
        ("patient/*.rs?_tag=x", "patient/Observation.rs?_tag=x", True),
        ("patient/*.rs?_tag=x", "patient/Observation.rs", False),
        ("patient/*.rs", "patient/Observation.rs?category=vital-signs", True),
        # v1 spellings mean their v2 permissions.
        ("patient/Observation.read", "patient/Observation.rs", True),
        ("patient/Observation.rs", "patient/Observation.read", True),
        ("patient/Observation.write", "patient/Observation.r", False),
        ("patient/Observation.*", "patient/Observation.cruds", True),
        ("user/*.*", "user/Appointment.write", True),
        # Named scopes cover only themselves.
        ("openid", "openid", True),
        ("openid", "fhirUser", False),
        ("launch", "launch/patient", False),
        ("openid", "patient/Observation.r", False),
        ("patient/*.cruds", "launch/patient", False),
    ],
)
def test_covers(broader, narrower, expected):
    assert covers(parse_scope(broader), parse_scope(narrower)) is expected


SAMPLES = [
    "openid",
    "launch",
    "launch/patient",
    "patient/*.cruds",
    "patient/*.rs",
    "patient/*.r?_tag=x",
    "patient/Observation.rs",
    "patient/Observation.r",
    "patient/Observation.cu",
    "patient/Observation.rs?category=vital-signs",
    "patient/Observation.s?category=laboratory",
    "patient/Condition.rs",
    "user/*.rs",
    "user/Observation.cruds",
    "user/Observation.r?category=vital-signs",
    "system/*.rs",
    "system/Encounter.cud",
]


def test_covers_is_a_partial_order():
    parsed = [parse_scope(t) for t in SAMPLES]
    for a in parsed:
        assert covers(a, a)
    for a, b in itertools.product(parsed, repeat=2):
        if covers(a, b) and covers(b, a):
            assert a == b
    for a, b, c in itertools.product(parsed, repeat=3):
        if covers(a, b) and covers(b, c):
            assert covers(a, c)


@pytest.mark.parametrize(
    ("requested", "allowed", "granted"),
    [
        ("patient/Observation.rs", "patient/Observation.r", ["patient/Observation.r"]),
        (
            "patient/*.rs",
            "patient/Observation.rs?category=vital-signs",
            ["patient/Observation.rs?category=vital-signs"],
        ),
        ("patient/Observation.cruds", "user/Observation.rs", []),
        ("user/Observation.rs", "patient/Observation.rs", []),
        ("system/*.rs", "patient/*.rs", []),
        (
            "patient/*.rs",
            "patient/Observation.rs patient/Condition.r user/Encounter.rs",
            ["patient/Observation.rs", "patient/Condition.r"],
        ),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/*.rs",
            ["patient/Observation.rs?category=vital-signs"],
        ),
        (
            "patient/Observation.cruds?category=vital-signs",
            "patient/*.rs",
            ["patient/Observation.rs?category=vital-signs"],
        ),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.rs?category=laboratory",
            [],
        ),
        (
            "patient/Observation.rs?category=vital-signs",
            "patient/Observation.rs?category=vital-signs&code=8480-6",
            [],
        ),
        ("patient/*.rs?_tag=a", "patient/Observation.cruds", ["patient/Observation.rs?_tag=a"]),
        ("patient/Observation.cud", "patient/Observation.rs", []),
        # Two allowed scopes, each granting a part.
        (
            "patient/Observation.cruds",
            "patient/Observation.r patient/Observation.s",
            ["patient/Observation.r", "patient/Observation.s"],
        ),
        # v1 text survives when the grant is exactly what was asked or allowed.
        ("patient/Observation.read", "patient/*.cruds", ["patient/Observation.read"]),
        ("patient/Observation.read", "patient/Observation.r", ["patient/Observation.r"]),
        ("patient/Observation.*", "patient/Observation.write", ["patient/Observation.write"]),
        ("patient/*.read", "patient/Condition.cruds", ["patient/Condition.rs"]),
        # Named scopes meet only themselves.
        ("openid fhirUser launch", "launch openid", ["openid", "launch"]),
        ("launch/patient", "launch", []),
        ("openid", "patient/*.cruds", []),
        # In request order; repeats and covered results left out.
        (
            "launch patient/Condition.rs openid",
            "openid patient/*.rs launch",
            ["launch", "patient/Condition.rs", "openid"],
        ),
        (
            "patient/Observation.rs patient/Observation.r",
            "patient/*.rs",
            ["patient/Observation.rs"],
        ),
        ("patient/Observation.r patient/*.r", "patient/*.rs", ["patient/*.r"]),
    ],
)
def test_intersect(requested, allowed, granted):
    assert texts(intersect(scopes(requested), scopes(allowed))) == granted


def test_intersect_returns_the_scopes_it_was_given():
    (wanted,) = scopes("patient/Observation.read")
    (permitted,) = scopes("patient/Observation.rs?category=vital-signs")
    assert intersect([wanted], scopes("patient/*.rs")) == [wanted]
    assert intersect([wanted], scopes("patient/*.rs"))[0] is wanted
    assert intersect(scopes("patient/*.read"), [permitted])[0] is permitted


def test_intersect_keeps_the_first_of_equal_grants():
    requested = [parse_scope("patient/Observation.read"), parse_scope("patient/Observation.rs")]
    assert texts(intersect(requested, scopes("patient/Observation.rs"))) == [
        "patient/Observation.read"
    ]


def test_intersect_is_sound_and_complete():
    """Every grant is covered by a requested and an allowed scope, and every scope
    both cover is covered by a grant."""
    parsed = [parse_scope(t) for t in SAMPLES]
    for requested, allowed in itertools.product(itertools.combinations(parsed, 2), repeat=2):
        granted = intersect(requested, allowed)
        for scope in granted:
            assert any(covers(r, scope) for r in requested)
            assert any(covers(a, scope) for a in allowed)
        for scope in parsed:
            if any(covers(r, scope) for r in requested) and any(covers(a, scope) for a in allowed):
                assert any(covers(g, scope) for g in granted), (requested, allowed, scope)


def test_the_grant_rule_chains():
    requested = scopes("launch openid fhirUser patient/Observation.rs patient/Patient.r")
    registered = scopes(
        "launch openid fhirUser patient/Observation.rs?category=vital-signs patient/Patient.r"
    )
    approved = scopes("launch patient/*.rs")
    assert texts(intersect(intersect(requested, registered), approved)) == [
        "launch",
        "patient/Observation.rs?category=vital-signs",
        "patient/Patient.r",
    ]


def test_intersect_of_a_hundred_by_a_hundred_scopes():
    requested = [parse_scope(f"patient/*.r?_tag={n}") for n in range(MAX_SCOPES)]
    allowed = [parse_scope(f"patient/{t}.rs") for t in RESOURCE_TYPES[:MAX_SCOPES]]
    granted = intersect(requested, allowed)
    assert len(granted) == MAX_SCOPES * MAX_SCOPES
    assert str(granted[0]) == "patient/Account.r?_tag=0"


def test_resource_types():
    parsed = scopes(
        "openid launch patient/Observation.rs user/Condition.r "
        "patient/Observation.r?category=vital-signs system/*.rs"
    )
    assert resource_types(parsed) == {"Observation", "Condition", "*"}
    assert resource_types(scopes("openid fhirUser")) == set()


# --- explanations --------------------------------------------------------------------------


@contextmanager
def language(app: Flask, lang: str) -> Iterator[None]:
    with app.test_request_context():
        session["lang"] = lang
        refresh()  # Flask-Babel keeps the locale for the context once it is read
        yield


VITAL_SIGNS = "patient/Observation.rs?category=vital-signs"
VITAL_SIGNS_EN = (
    "Read and search vital signs (Observation, category vital-signs) of the patient in context"
)


def test_explain_outside_a_request_is_in_english():
    assert explain(parse_scope(VITAL_SIGNS)) == VITAL_SIGNS_EN


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        (VITAL_SIGNS, VITAL_SIGNS_EN),
        (
            f"patient/Observation.rs?category={LAB}",
            "Read and search laboratory results (Observation, category laboratory) "
            "of the patient in context",
        ),
        (
            "user/Observation.r?category=vital-signs&code=http://loinc.org|8480-6",
            "Read vital signs (Observation, category vital-signs, code 8480-6) "
            "for any patient the user may see",
        ),
        (
            "patient/Observation.rs?category=social-history",
            "Read and search observations (Observation, category social-history) "
            "of the patient in context",
        ),
        (
            "system/Encounter.cud",
            "Create, update and delete encounters (Encounter) "
            "for any patient, without a user (system)",
        ),
        (
            "user/*.cruds",
            "Create, read, update, delete and search all kinds of data "
            "for any patient the user may see",
        ),
        (
            "patient/*.rs?_tag=news2",
            "Read and search all kinds of data (_tag=news2) of the patient in context",
        ),
        (
            "patient/MedicationRequest.read",
            "Read and search medication prescriptions (MedicationRequest) "
            "of the patient in context",
        ),
        ("patient/Patient.r", "Read patient details (Patient) of the patient in context"),
        ("user/Specimen.s", "Search Specimen for any patient the user may see"),
        ("openid", "Know who you are"),
        ("fhirUser", "Know your identity as health personnel (your FHIR user record)"),
        ("launch", "Receive the patient and context from the journal system"),
        ("launch/patient", "Ask you to choose a patient"),
        ("offline_access", "Keep access after you close the app, until revoked"),
    ],
)
def test_explain_in_english(app, text, explained):
    with language(app, "en"):
        assert explain(parse_scope(text)) == explained


FRIENDLY = [
    "Patient",
    "Observation",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "MedicationAdministration",
    "AllergyIntolerance",
    "Encounter",
    "EpisodeOfCare",
    "CarePlan",
    "CareTeam",
    "ServiceRequest",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Procedure",
    "DiagnosticReport",
    "Immunization",
    "Appointment",
    "DocumentReference",
    "Questionnaire",
    "QuestionnaireResponse",
    "Goal",
    "Flag",
]


def test_common_resource_types_have_friendly_names(app):
    with language(app, "en"):
        for resource in FRIENDLY:
            explained = explain(parse_scope(f"patient/{resource}.r"))
            # A friendly name stands first; the FHIR name follows in brackets.
            assert explained.startswith("Read ")
            assert f" ({resource}) of the patient in context" in explained
            assert not explained.startswith(f"Read {resource}")


def test_resource_names(app):
    with language(app, "en"):
        assert resource_name("Observation") == "observations"
        assert resource_name("*") == "all kinds of data"
        # A type without a friendlier name is called by its FHIR name.
        assert resource_name("Specimen") == "Specimen"


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_every_scope_kind_is_explained_in_both_languages(app, lang):
    with language(app, lang):
        for text in [*NAMED_SCOPES, VITAL_SIGNS, "user/*.rs", "system/Basic.c"]:
            explained = explain(parse_scope(text))
            assert explained
            assert explained[0].isupper()
            assert "%(" not in explained


def test_bokmal_falls_back_gracefully(app):
    with language(app, "nb"):
        explained = explain(parse_scope(VITAL_SIGNS))
        # Whatever the catalogue holds, FHIR names and codes are not translated.
        assert "(Observation, " in explained
        assert "vital-signs)" in explained
        with pytest.raises(Invalid) as caught:
            parse_scopes("patient/Foo.rs")
        assert "patient/Foo.rs" in caught.value.detail
        assert "Foo" in caught.value.detail


def test_messages_follow_the_language_of_the_request(app):
    with language(app, "en"), pytest.raises(Invalid) as caught:
        check_requested(scopes("patient/*.*"), "patient")
    assert caught.value.detail == (
        "patient/*.*: a patient app must name the resource types it uses, not *."
    )
    # In an app context without a request (the CLI) messages work as well.
    with app.app_context(), pytest.raises(Invalid) as caught:
        parse_scopes("*/*.*")
    assert "*/*.*" in caught.value.detail


def test_the_journal_launch_scope_is_for_backend_services_only():
    assert parse_scope("system/launch") == NamedScope("system/launch")
    check_requested([parse_scope("system/launch")], "backend")
    for audience in ("clinician", "patient"):
        (message,) = refused("system/launch", audience)
        assert message == (
            "system/launch: only a backend service (a journal system) can ask for this scope."
        )
