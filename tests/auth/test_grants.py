"""The grant rule: requested ∩ registered ∩ approved ∩ role ∩ context, never more."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.grants import Launcher, grant_scopes
from catalog import scopes
from catalog.scopes import Context, NamedScope, ResourceScope

pytestmark = pytest.mark.usefixtures("english")

REGISTERED = (
    "launch openid fhirUser offline_access patient/Observation.rs patient/Patient.r "
    "user/Practitioner.rs"
)


def _grant(requested: str, **changes):
    arguments = {
        "registered": REGISTERED,
        "approved": REGISTERED,
        "launcher": Launcher.CLINICIAN,
        "patient_in_context": True,
        **changes,
    }
    return grant_scopes(requested, **arguments)


def test_what_was_asked_for_registered_and_approved_is_granted_as_asked() -> None:
    grant = _grant("launch openid fhirUser patient/Observation.read patient/Patient.r")
    # A v1 scope granted as asked stays v1 (SMART 2.2 lets the server answer in kind).
    assert grant.scope == "launch openid fhirUser patient/Observation.read patient/Patient.r"
    assert grant.dropped == []


def test_a_request_for_more_is_narrowed_not_refused() -> None:
    grant = _grant(
        "patient/Observation.cruds patient/Condition.rs",
        approved="launch patient/Observation.r",
    )
    assert grant.scope == "patient/Observation.r"
    assert [(d.scope, d.reason) for d in grant.dropped] == [
        ("patient/Condition.rs", "The app's certified release did not register it.")
    ]


@pytest.mark.parametrize(
    ("requested", "changes", "reason"),
    [
        ("patient/Nothing.rs", {}, "This is not a SMART scope."),
        ("user/Practitioner.rs", {"approved": "launch"},
         "The municipality has not approved it for this app."),
        ("user/Practitioner.rs", {"launcher": Launcher.PATIENT},
         "A patient's app sees the patient's own record only (patient/ scopes)."),
        ("patient/Observation.rs", {"patient_in_context": False},
         "There is no patient in the launch context."),
        ("openid", {"launcher": Launcher.SYSTEM},
         "A backend service acts without a user: it gets no user or launch scopes."),
        ("patient/Observation.rs", {"launcher": Launcher.SYSTEM},
         "A backend service gets system/ scopes only."),
        ("system/Observation.rs", {"registered": "system/Observation.rs",
                                   "approved": "system/Observation.rs"},
         "system/ scopes are for backend services only."),
    ],
)  # fmt: skip
def test_each_scope_left_out_says_why(requested, changes, reason) -> None:
    grant = _grant(requested, **changes)
    assert grant.granted == []
    assert [d.reason for d in grant.dropped] == [reason]


def test_a_backend_service_gets_its_system_scopes() -> None:
    grant = grant_scopes(
        "system/Observation.rs?category=vital-signs system/Encounter.rs",
        registered="system/Observation.rs system/Encounter.r",
        approved="system/Observation.rs?category=vital-signs",
        launcher=Launcher.SYSTEM,
        patient_in_context=False,
    )
    assert grant.scope == "system/Observation.rs?category=vital-signs"
    assert [d.scope for d in grant.dropped] == ["system/Encounter.rs"]


# --- the property: never wider than any of the five inputs ------------------------------

RESOURCES = ("Observation", "Patient", "Condition", "*")
QUERIES = ((), (("category", "vital-signs"),), (("category", "laboratory"),))
PERMISSION_SETS = [p for p in ("r", "s", "rs", "c", "cu", "cruds", "rd", "ud") if p]


@st.composite
def a_scope(draw) -> str:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.sampled_from(scopes.NAMED_SCOPES))
    scope = ResourceScope(
        context=draw(st.sampled_from(list(Context))),
        resource=draw(st.sampled_from(RESOURCES)),
        permissions=draw(st.sampled_from(PERMISSION_SETS)),
        query=draw(st.sampled_from(QUERIES)),
    )
    # Written as v2, or as v1 where the permissions have a v1 form.
    if not scope.query and scope.permissions in {"rs", "cruds"} and draw(st.booleans()):
        v1 = {"rs": "read", "cruds": "*"}[scope.permissions]
        return f"{scope.context}/{scope.resource}.{v1}"
    return scope.canonical


some_scopes = st.lists(a_scope(), max_size=6)


def _covered(scope, by: list) -> bool:
    return any(scopes.covers(other, scope) for other in by)


# Derandomized: every run, CI's included, checks the same 2 000 cases, so a failure
# is a change in the rule and never luck. Raise max_examples when changing the rule.
@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    requested=some_scopes,
    registered=some_scopes,
    approved=some_scopes,
    launcher=st.sampled_from(list(Launcher)),
    patient_in_context=st.booleans(),
)
def test_a_granted_scope_is_never_wider_than_any_input(
    requested, registered, approved, launcher, patient_in_context
) -> None:
    grant = grant_scopes(
        " ".join(requested),
        registered=registered,
        approved=approved,
        launcher=launcher,
        patient_in_context=patient_in_context,
    )
    parsed = {name: [scopes.parse_scope(s) for s in value]
              for name, value in (("requested", requested), ("registered", registered),
                                  ("approved", approved))}  # fmt: skip
    for granted in grant.granted:
        for name, inputs in parsed.items():
            assert _covered(granted, inputs), f"{granted} is wider than the {name} scopes"
        if isinstance(granted, NamedScope):
            assert launcher != Launcher.SYSTEM
            continue
        assert (granted.context == Context.SYSTEM) == (launcher == Launcher.SYSTEM)
        if launcher == Launcher.PATIENT:
            assert granted.context == Context.PATIENT
        if granted.context == Context.PATIENT:
            assert patient_in_context
    # And nothing is lost silently: every requested scope is dropped with a reason, or the
    # grant gives some of it (a broader granted scope may stand for a narrower one asked).
    dropped = {d.scope for d in grant.dropped}
    for text, wanted in zip(requested, parsed["requested"], strict=True):
        assert text in dropped or scopes.intersect([wanted], grant.granted)
