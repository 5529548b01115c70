"""Synthetic FHIR R4 data for the demo municipalities: patients, vitals, diagnoses and services.

Every person here is invented, and so are the practitioners, their HPR numbers, the
addresses, phone numbers and e-mail addresses. The patients' fødselsnumre are synthetic
(see auth.demo): they have the real shape, so any of them could by chance be a real
person's number; they must never leave a demo or test system.

`generate(slug)` returns every resource of one municipality as plain FHIR JSON. It is the
same every time on every machine: each part draws from its own `random.Random` seeded by
the municipality, the patient and the part (so a patient's data does not depend on how many
patients are generated), and all times are counted back from `auth.demo.ANCHOR`, never from
today. The first twelve patients and their encounters are exactly those of auth.demo.

Vital signs are the seven NEWS2 parameters, as Observations of category vital-signs:
- supplemental oxygen is LOINC 3151-8 "Inhaled oxygen flow rate" in L/min, 0 on room air:
  one standard code says both whether the patient is given oxygen (all NEWS2 asks) and how
  much, which the nurse records anyway; a boolean would need a code of our own;
- consciousness is LOINC 67775-7 "Level of responsiveness" with a valueCodeableConcept whose
  text is the ACVPU letter (A, C, V, P or U): the letter is what NEWS2 scores, and we know no
  code system with all five levels whose codes we could check;
- oxygen saturation carries both 2708-6 and 59408-5, as the FHIR vital-signs profile asks;
  blood pressure is the 85354-9 panel with systolic and diastolic components.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from auth.demo import (
    ANCHOR,
    FAMILY,
    FEMALE,
    MALE,
    PATIENTS_PER_TENANT,
    DemoPatient,
    patients_for,
    random_birth_date,
    random_encounters,
    random_identifier,
)
from marketplace.demo import FKJ_MUNICIPALITIES, SANDBOX

Resource = dict[str, Any]

HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"  # Enhetsregisteret's organisation numbers
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

TRAJECTORIES = ("stable", "deteriorating", "single-red", "none", "incomplete", "stale")
SERVICE_KINDS = (
    "hjemmesykepleie",
    "korttidsopphold",
    "langtidsopphold",
    "fysioterapi",
    "helsestasjon",
    "fastlege",
)

# Every block of 20 patients (001-020, 021-040, ...) holds each trajectory and each number of
# services, shuffled per block: any municipality of 20 or more patients shows all of them.
_BLOCK = 20
_TRAJECTORY_BLOCK = (
    ("stable",) * 9
    + ("deteriorating",) * 4
    + ("single-red",) * 2
    + ("none",) * 2
    + ("incomplete",) * 2
    + ("stale",)
)
_SERVICE_COUNT_BLOCK = (0,) * 2 + (1,) * 8 + (2,) * 6 + (3,) * 4

# Post town and postal code of each demo municipality's addresses.
_PLACES = {
    "oslo": ("Oslo", "0150"),
    "bergen": ("Bergen", "5003"),
    "trondheim": ("Trondheim", "7011"),
    "stavanger": ("Stavanger", "4006"),
    "baerum": ("Sandvika", "1337"),
    "kristiansand": ("Kristiansand", "4611"),
    "bodo": ("Bodø", "8006"),
    "ringsaker": ("Brumunddal", "2380"),
    "hammerfest": ("Hammerfest", "9600"),
    "vinje": ("Åmot", "3890"),
}
_STREETS = (
    "Storgata", "Kirkeveien", "Skolegata", "Bjørkeveien", "Furuveien", "Solbakken", "Parkveien",
    "Fjellveien", "Strandgata", "Granveien", "Elveveien", "Åsveien", "Løkkeveien", "Torggata",
)  # fmt: skip
_NURSING_HOMES = ("Solbakken", "Lindeheim", "Fjellro", "Bjørkely", "Granheim", "Soltun", "Tunet")
_GP_OFFICES = ("Sentrum", "Torget", "Sjøsiden", "Bryggen", "Stasjonen")


@dataclass(frozen=True)
class Clinician:
    """A real demo user to appear as a Practitioner (see accounts.demo.DEMO_USERS)."""

    name: str
    hpr_number: str
    email: str


@dataclass(frozen=True)
class _Unit:
    key: str
    type_text: str


# The municipality's service units, by the key in their ids (`org-<slug>-<key>`).
_UNITS = (
    _Unit("hjemmesykepleie", "Hjemmesykepleie"),
    _Unit("sykehjem", "Sykehjem"),
    _Unit("fysioterapi", "Fysio- og ergoterapi"),
    _Unit("helsestasjon", "Helsestasjon"),
    _Unit("legekontor", "Legekontor"),
    _Unit("legevakt", "Legevakt"),
)

# Each auth.demo encounter kind: its v3 ActCode class, the unit that provides it, and the
# role of the practitioner who takes part.
_ENCOUNTER_KINDS = {
    "Hjemmesykepleie, besøk": ("HH", "home health", "hjemmesykepleie", "nurse"),
    "Legekonsultasjon hos fastlege": ("AMB", "ambulatory", "legekontor", "gp"),
    "Korttidsopphold på sykehjem": ("IMP", "inpatient encounter", "sykehjem", "nurse"),
    "Langtidsopphold på sykehjem": ("IMP", "inpatient encounter", "sykehjem", "nurse"),
    "Fysioterapi, hjemmebesøk": ("HH", "home health", "fysioterapi", "physio"),
    "Legevakt": ("EMER", "emergency", "legevakt", "gp"),
    "Hverdagsrehabilitering": ("HH", "home health", "fysioterapi", "physio"),
}


@dataclass(frozen=True)
class _ServiceKind:
    unit: str
    manager: str  # the role of the care manager: "gp", "nurse" or "physio"
    type_text: str
    plan_title: str
    plan_description: str
    activities: tuple[str, ...]
    request: str | None  # the ServiceRequest's code text; None when the service has none


_SERVICES = {
    "hjemmesykepleie": _ServiceKind(
        "hjemmesykepleie",
        "nurse",
        "Hjemmesykepleie",
        "Tiltaksplan for hjemmesykepleie",
        "Hjemmesykepleie morgen og kveld: legemiddelhåndtering og hjelp til personlig stell.",
        ("Legemiddelhåndtering", "Hjelp til personlig stell"),
        "Vedtak om hjemmesykepleie",
    ),
    "korttidsopphold": _ServiceKind(
        "sykehjem",
        "nurse",
        "Korttidsopphold i sykehjem",
        "Plan for korttidsopphold",
        "Korttidsopphold for opptrening og vurdering av videre hjelpebehov.",
        ("Opptrening av gangfunksjon", "Kartlegging av hjelpebehov"),
        "Vedtak om korttidsopphold i sykehjem",
    ),
    "langtidsopphold": _ServiceKind(
        "sykehjem",
        "nurse",
        "Langtidsopphold i sykehjem",
        "Pleieplan for langtidsopphold",
        "Heldøgns pleie og omsorg i sykehjem.",
        ("Daglig stell og tilsyn", "Ernæringsoppfølging"),
        "Vedtak om langtidsopphold i sykehjem",
    ),
    "fysioterapi": _ServiceKind(
        "fysioterapi",
        "physio",
        "Fysioterapi",
        "Opptreningsplan",
        "Fysioterapi hjemme én gang i uken: balanse- og styrketrening.",
        ("Balansetrening", "Styrketrening"),
        "Henvisning til fysioterapi",
    ),
    "helsestasjon": _ServiceKind(
        "helsestasjon",
        "nurse",
        "Helsestasjon",
        "Oppfølging ved helsestasjonen",
        "Faste konsultasjoner hos helsesykepleier etter det nasjonale programmet.",
        ("Konsultasjon hos helsesykepleier",),
        None,
    ),
    "fastlege": _ServiceKind(
        "legekontor",
        "gp",
        "Fastlege",
        "Oppfølgingsplan hos fastlegen",
        "Kontroll hos fastlegen hver tredje måned og ved behov.",
        ("Kontroll hos fastlege",),
        None,
    ),
}


@dataclass(frozen=True)
class _Medication:
    atc: str
    display: str  # the ATC name
    text: str  # the product as the medication list shows it
    dosage: str


@dataclass(frozen=True)
class _Diagnosis:
    icd10: str
    display: str
    medications: tuple[_Medication, ...]
    resolves: bool = False  # an episode that is over, not a lasting disease


def _medications(*rows: tuple[str, str, str, str]) -> tuple[_Medication, ...]:
    return tuple(_Medication(*row) for row in rows)


_PARACETAMOL = _Medication(
    "N02BE01", "paracetamol", "Paracetamol 500 mg tabletter",
    "1-2 tabletter ved behov, høyst 6 i døgnet",
)  # fmt: skip
_DIAGNOSES = (
    _Diagnosis("I50.9", "Hjertesvikt, uspesifisert", _medications(
        ("C03CA01", "furosemid", "Furosemid 40 mg tabletter", "1 tablett om morgenen"),
        ("C09AA05", "ramipril", "Ramipril 5 mg tabletter", "1 tablett daglig"),
    )),
    _Diagnosis("J44.9", "Kronisk obstruktiv lungesykdom, uspesifisert", _medications(
        ("R03AK07", "formoterol og budesonid", "Budesonid/formoterol inhalasjonspulver",
         "2 inhalasjoner morgen og kveld"),
    )),
    _Diagnosis("E11.9", "Diabetes mellitus type 2 uten komplikasjoner", _medications(
        ("A10BA02", "metformin", "Metformin 500 mg tabletter", "1 tablett til frokost og kvelds"),
    )),
    _Diagnosis("F03", "Uspesifisert demens", _medications(
        ("N06DA02", "donepezil", "Donepezil 5 mg tabletter", "1 tablett om kvelden"),
    )),
    _Diagnosis("I10", "Essensiell (primær) hypertensjon", _medications(
        ("C08CA01", "amlodipin", "Amlodipin 5 mg tabletter", "1 tablett daglig"),
    )),
    _Diagnosis("M81.9", "Osteoporose, uspesifisert", _medications(
        ("M05BA04", "alendronsyre", "Alendronat 70 mg tabletter", "1 tablett hver uke"),
        ("A12AX", "kalsium, kombinasjoner med vitamin D", "Kalsium og vitamin D tyggetabletter",
         "1 tablett daglig"),
    )),
    _Diagnosis("I48.9", "Atrieflimmer og atrieflutter, uspesifisert", _medications(
        ("B01AF02", "apixaban", "Apixaban 5 mg tabletter", "1 tablett morgen og kveld"),
    )),
    _Diagnosis("I63.9", "Hjerneinfarkt, uspesifisert", _medications(
        ("B01AC06", "acetylsalisylsyre", "Acetylsalisylsyre 75 mg tabletter", "1 tablett daglig"),
        ("C10AA05", "atorvastatin", "Atorvastatin 20 mg tabletter", "1 tablett om kvelden"),
    )),
    _Diagnosis("G20", "Parkinsons sykdom", _medications(
        ("N04BA02", "levodopa og dekarboksylasehemmer", "Levodopa/benserazid 100 mg/25 mg kapsler",
         "1 kapsel tre ganger daglig"),
    )),
    _Diagnosis("E03.9", "Hypotyreose, uspesifisert", _medications(
        ("H03AA01", "levotyroksinnatrium", "Levotyroksin 50 mikrogram tabletter",
         "1 tablett fastende om morgenen"),
    )),
    _Diagnosis("N39.0", "Urinveisinfeksjon, uspesifisert lokalisasjon", _medications(
        ("J01CA08", "pivmecillinam", "Pivmecillinam 200 mg tabletter",
         "1 tablett tre ganger daglig i 5 dager"),
    ), resolves=True),
)  # fmt: skip
# (ATC code or None, substance text, category, reaction)
_ALLERGIES = (
    ("J01C", "Penicilliner", "medication", "Utslett og kløe"),
    ("J01E", "Sulfonamider og trimetoprim", "medication", "Utslett"),
    (None, "Nøtter", "food", "Hevelse i lepper og svelg"),
    (None, "Lateks", "environment", "Eksem"),
)


def generate(
    slug: str, *, patients: int = 60, clinicians: Sequence[Clinician] = ()
) -> list[Resource]:
    """Every FHIR resource of the demo municipality `slug`, the same for the same arguments.

    The clinicians become Practitioners beside the synthetic staff; the patient data never
    refers to them, so it does not change with them.
    """
    place = _place(slug)
    team = _team(slug, place, clinicians)
    resources = _organizations(slug, place) + list(team.practitioners)
    for n in range(1, patients + 1):
        resources += _patient_resources(slug, place, team, _demo_patient(slug, n))
    return resources


def trajectory_of(slug: str, patient_id: str) -> str:
    """The vital-sign trajectory of a patient of `slug`: one of TRAJECTORIES.

    Defined for any patient number, generated or not; ValueError for an id not `pas-<slug>-NNN`.
    """
    return _trajectory(slug, _number(slug, patient_id))


def services_of(slug: str, patient_id: str) -> list[str]:
    """The kinds of service (SERVICE_KINDS) the patient has had or has; [] when none."""
    patient = _demo_patient(slug, _number(slug, patient_id))
    return [service.kind for service in _services(slug, patient)]


# --- Seeding --------------------------------------------------------------------------------


def _rng(*parts: object) -> random.Random:
    """A generator seeded by `parts`: a string seed hashes the same on every machine and run."""
    return random.Random("fhir/" + "/".join(str(part) for part in parts))  # noqa: S311 - demo data


def _from_block(slug: str, n: int, what: str, block: tuple[Any, ...]) -> Any:
    """Patient number `n`'s share of `block`, shuffled afresh for each block of patients."""
    index, offset = divmod(n - 1, _BLOCK)
    order = list(block)
    _rng(slug, what, index).shuffle(order)
    return order[offset]


def _trajectory(slug: str, n: int) -> str:
    return _from_block(slug, n, "trajectories", _TRAJECTORY_BLOCK)


def _number(slug: str, patient_id: str) -> int:
    """The patient number in `pas-<slug>-NNN`."""
    prefix = f"pas-{slug}-"
    digits = patient_id.removeprefix(prefix)
    if digits == patient_id or not digits.isdigit() or int(digits) < 1:
        raise ValueError(f"{patient_id!r} is not a patient id of {slug!r}")
    return int(digits)


# --- Patients -------------------------------------------------------------------------------


@functools.cache
def _known_patients(slug: str) -> tuple[DemoPatient, ...]:
    return tuple(patients_for(slug))


def _demo_patient(slug: str, n: int) -> DemoPatient:
    """Patient number `n`: auth.demo's for the first twelve, then made the same way."""
    if n <= PATIENTS_PER_TENANT:
        return _known_patients(slug)[n - 1]
    rng = _rng(slug, "patients", n)
    gender = rng.choice(("female", "male"))
    given = rng.choice(FEMALE if gender == "female" else MALE)
    birth_date = random_birth_date(rng)
    patient_id = f"pas-{slug}-{n:03d}"
    return DemoPatient(
        id=patient_id,
        name=f"{given} {rng.choice(FAMILY)}",
        birth_date=birth_date,
        gender=gender,
        identifier=random_identifier(rng, birth_date, gender),
        encounters=random_encounters(rng, patient_id),
    )


@dataclass(frozen=True)
class _Place:
    municipality: str  # "Oslo kommune"
    short: str  # "Oslo"
    city: str
    postal_code: str | None
    organisation_number: str | None


def _place(slug: str) -> _Place:
    known = {s: (name, number) for s, name, number, _population in FKJ_MUNICIPALITIES}
    known[SANDBOX[0]] = (SANDBOX[1], SANDBOX[2])
    name, number = known.get(slug, (f"{slug.title()} kommune", None))
    short = name.split(" kommune")[0]
    city, postal_code = _PLACES.get(slug, (short, None))
    return _Place(name, short, city, postal_code, number)


def _address(rng: random.Random, place: _Place) -> Resource:
    address = {
        "use": "home",
        "line": [f"{rng.choice(_STREETS)} {rng.randint(1, 120)}"],
        "city": place.city,
        "district": place.municipality,
        "country": "NO",
    }
    if place.postal_code:
        address["postalCode"] = place.postal_code
    return address


def _human_name(name: str) -> Resource:
    given, _space, family = name.rpartition(" ")
    return {"use": "official", "family": family, "given": [given]} if given else {"family": family}


def _patient(slug: str, place: _Place, patient: DemoPatient, gp: str) -> Resource:
    rng = _rng(slug, patient.id, "patient")
    return {
        "resourceType": "Patient",
        "id": patient.id,
        "identifier": [{"system": FNR_SYSTEM, "value": patient.identifier}],
        "active": True,
        "name": [_human_name(patient.name)],
        "gender": patient.gender,
        "birthDate": patient.birth_date.isoformat(),
        "address": [_address(rng, place)],
        "generalPractitioner": [_ref("Practitioner", gp)],
    }


# --- Organizations and practitioners ----------------------------------------------------------


def _telecom(phone: str | None, email: str) -> list[Resource]:
    """Work contacts: the phone number (if any), then the e-mail address."""
    found = [{"system": "phone", "value": phone, "use": "work"}] if phone else []
    return [*found, {"system": "email", "value": email, "use": "work"}]


def _phone(rng: random.Random) -> str:
    return f"+47 2{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(100, 999)}"


def _organizations(slug: str, place: _Place) -> list[Resource]:
    """The municipality and its service units."""
    rng = _rng(slug, "organizations")
    names = {
        "hjemmesykepleie": f"Hjemmesykepleien i {place.short}",
        "sykehjem": f"{rng.choice(_NURSING_HOMES)} sykehjem",
        "fysioterapi": f"Fysio- og ergoterapitjenesten i {place.short}",
        "helsestasjon": f"{place.short} helsestasjon",
        "legekontor": f"{rng.choice(_GP_OFFICES)} legekontor",
        "legevakt": f"{place.short} legevakt",
    }
    municipality: Resource = {
        "resourceType": "Organization",
        "id": f"org-{slug}",
        "active": True,
        "type": [{"text": "Kommune"}],
        "name": place.municipality,
        "telecom": _telecom(_phone(rng), f"postmottak@{slug}.kommune.example"),
        "address": [{**_address(rng, place), "use": "work"}],
    }
    if place.organisation_number:
        municipality["identifier"] = [{"system": ORGNR_SYSTEM, "value": place.organisation_number}]
    units = [
        {
            "resourceType": "Organization",
            "id": f"org-{slug}-{unit.key}",
            "active": True,
            "type": [{"text": unit.type_text}],
            "name": names[unit.key],
            "telecom": _telecom(_phone(rng), f"{unit.key}@{slug}.kommune.example"),
            "address": [{**_address(rng, place), "use": "work"}],
            "partOf": _ref("Organization", f"org-{slug}", place.municipality),
        }
        for unit in _UNITS
    ]
    return [municipality, *units]


@dataclass(frozen=True)
class _Team:
    """The municipality's practitioners: resources, and the ids of the synthetic staff by role."""

    practitioners: tuple[Resource, ...]
    by_role: dict[str, tuple[str, ...]]
    names: dict[str, str]  # practitioner id -> "Given Family", for reference displays


_ROLES = {"gp": "Lege", "nurse": "Sykepleier", "physio": "Fysioterapeut"}


def _team(slug: str, place: _Place, clinicians: Sequence[Clinician]) -> _Team:
    """Two GPs, one to three nurses and a physiotherapist, then the clinicians given."""
    rng = _rng(slug, "practitioners")
    taken = {clinician.hpr_number for clinician in clinicians}
    roles = ["gp", "gp", "nurse", "physio"] + ["nurse"] * rng.randint(0, 2)
    practitioners: list[Resource] = []
    by_role: dict[str, list[str]] = {role: [] for role in _ROLES}
    names: dict[str, str] = {}
    for role in roles:
        gender = rng.choice(("female", "male"))
        given = rng.choice(FEMALE if gender == "female" else MALE)
        family = rng.choice(FAMILY)
        hpr = str(rng.randint(1_000_000, 9_999_999))
        while hpr in taken:
            hpr = str(rng.randint(1_000_000, 9_999_999))
        taken.add(hpr)
        email = f"{_ascii(given)}.{_ascii(family)}@{slug}.kommune.example"
        practitioner = _practitioner(hpr, f"{given} {family}", _telecom(_phone(rng), email))
        practitioner["gender"] = gender
        practitioner["qualification"] = [{"code": {"text": _ROLES[role]}}]
        practitioners.append(practitioner)
        by_role[role].append(practitioner["id"])
        names[practitioner["id"]] = f"{given} {family}"
    for clinician in clinicians:
        practitioners.append(
            _practitioner(clinician.hpr_number, clinician.name, _telecom(None, clinician.email))
        )
    return _Team(tuple(practitioners), {role: tuple(ids) for role, ids in by_role.items()}, names)


def _practitioner(hpr: str, name: str, telecom: list[Resource]) -> Resource:
    return {
        "resourceType": "Practitioner",
        "id": f"hpr-{hpr}",
        "identifier": [{"system": HPR_SYSTEM, "value": hpr}],
        "active": True,
        "name": [_human_name(name)],
        "telecom": telecom,
    }


def _ascii(name: str) -> str:
    """A name as the local part of an e-mail address: `Ødegård` -> `odegaard`."""
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "aa"})
    return name.lower().translate(table)


@dataclass(frozen=True)
class _Carers:
    """Who looks after one patient: the GP, a nurse and a physiotherapist of the team."""

    gp: str
    nurse: str
    physio: str

    def of(self, role: str) -> str:
        return {"gp": self.gp, "nurse": self.nurse, "physio": self.physio}[role]


def _carers(slug: str, team: _Team, patient: DemoPatient) -> _Carers:
    rng = _rng(slug, patient.id, "carers")
    return _Carers(*(rng.choice(team.by_role[role]) for role in ("gp", "nurse", "physio")))


# --- One patient's resources ------------------------------------------------------------------


def _patient_resources(
    slug: str, place: _Place, team: _Team, patient: DemoPatient
) -> list[Resource]:
    carers = _carers(slug, team, patient)
    conditions = _conditions(slug, patient)
    return [
        _patient(slug, place, patient, carers.gp),
        *_encounter_resources(slug, team, carers, patient),
        *_vital_signs(slug, carers, patient),
        *conditions,
        *_medication_statements(slug, patient, conditions),
        *_allergies(slug, patient),
        *_service_resources(slug, team, carers, patient, conditions),
    ]


def _encounter_resources(
    slug: str, team: _Team, carers: _Carers, patient: DemoPatient
) -> list[Resource]:
    rng = _rng(slug, patient.id, "encounters")
    found = []
    for encounter in patient.encounters:
        code, display, unit, role = _ENCOUNTER_KINDS[encounter.description]
        period = {"start": _instant(encounter.start)}
        if encounter.status == "finished":
            # A stay lasts weeks (but is over by the anchor); a visit, under an hour.
            if code == "IMP":
                end = min(encounter.start + dt.timedelta(days=rng.randint(7, 28)), ANCHOR)
            else:
                end = encounter.start + dt.timedelta(minutes=rng.choice((30, 45, 60)))
            period["end"] = _instant(end)
        practitioner = carers.of(role)
        found.append(
            {
                "resourceType": "Encounter",
                "id": encounter.id,
                "status": encounter.status,
                "class": {"system": V3_ACT_CODE, "code": code, "display": display},
                "type": [{"text": encounter.description}],
                "subject": _ref("Patient", patient.id),
                "participant": [
                    {"individual": _ref("Practitioner", practitioner, team.names[practitioner])}
                ],
                "period": period,
                "serviceProvider": _ref("Organization", f"org-{slug}-{unit}"),
            }
        )
    return found


# --- Vital signs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Round:
    """One round of NEWS2 measurements; None where a parameter was not measured."""

    at: dt.datetime
    respiratory_rate: int | None
    spo2: int | None
    oxygen_flow: float | None  # L/min; 0 on room air
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    acvpu: str | None
    temperature: float | None


def _normal(rng: random.Random, at: dt.datetime) -> _Round:
    """A round where every parameter scores 0 in NEWS2."""
    systolic = rng.randint(115, 150)
    return _Round(
        at=at,
        respiratory_rate=rng.randint(12, 18),
        spo2=rng.randint(96, 99),
        oxygen_flow=0.0,
        systolic=systolic,
        diastolic=systolic - rng.randint(40, 60),
        pulse=rng.randint(58, 86),
        acvpu="A",
        temperature=round(rng.uniform(36.3, 37.4), 1),
    )


def _mild(rng: random.Random, normal: _Round) -> _Round:
    """A normal round with one parameter just outside, scoring 1 (a stable patient's bad day)."""
    change = rng.choice(
        (
            {"pulse": rng.randint(91, 100)},
            {"respiratory_rate": rng.randint(9, 11)},
            {"temperature": round(rng.uniform(38.1, 38.6), 1)},
            {"spo2": rng.randint(94, 95)},
        )
    )
    return replace(normal, **change)


def _medium(rng: random.Random, at: dt.datetime) -> _Round:
    """A round in NEWS2's medium band: 2 + 1 + 1 + 1 = 5."""
    systolic = rng.randint(112, 120)
    return _Round(
        at=at,
        respiratory_rate=rng.randint(21, 24),
        spo2=rng.randint(94, 95),
        oxygen_flow=0.0,
        systolic=systolic,
        diastolic=systolic - rng.randint(40, 50),
        pulse=rng.randint(91, 110),
        acvpu="A",
        temperature=round(rng.uniform(38.1, 39.0), 1),
    )


def _high(rng: random.Random, at: dt.datetime) -> _Round:
    """A round in NEWS2's high band: on oxygen, tachypnoeic, hypotensive, newly confused."""
    systolic = rng.randint(92, 100)
    return _Round(
        at=at,
        respiratory_rate=rng.randint(25, 29),
        spo2=rng.randint(92, 93),
        oxygen_flow=float(rng.randint(2, 4)),
        systolic=systolic,
        diastolic=systolic - rng.randint(35, 45),
        pulse=rng.randint(111, 125),
        acvpu="C",
        temperature=round(rng.uniform(39.1, 39.6), 1),
    )


def _between(start: _Round, end: _Round, fraction: float, at: dt.datetime) -> _Round:
    """A round `fraction` of the way from `start` to `end`, on room air and alert."""

    def part(a: float, b: float) -> float:
        return a + (b - a) * fraction

    return replace(
        start,
        at=at,
        respiratory_rate=round(part(start.respiratory_rate, end.respiratory_rate)),
        spo2=round(part(start.spo2, end.spo2)),
        systolic=round(part(start.systolic, end.systolic)),
        diastolic=round(part(start.diastolic, end.diastolic)),
        pulse=round(part(start.pulse, end.pulse)),
        temperature=round(part(start.temperature, end.temperature), 1),
    )


def _single_red(rng: random.Random, normal: _Round) -> _Round:
    """A normal round but for one parameter scoring 3."""
    change = rng.choice(
        (
            {"respiratory_rate": rng.randint(6, 8)},
            {"spo2": rng.randint(88, 91)},
            {"systolic": rng.randint(82, 90), "diastolic": rng.randint(45, 55)},
            {"pulse": rng.randint(35, 40)},
            {"temperature": round(rng.uniform(34.5, 35.0), 1)},
            {"acvpu": "V"},
        )
    )
    return replace(normal, **change)


def _round_times(rng: random.Random, count: int, stale: bool) -> list[dt.datetime]:
    """When the rounds were taken, oldest first: the last in the day before the anchor (or, when
    stale, 8 to 30 days before it), the others 6 to 14 hours apart."""
    last = (
        ANCHOR - dt.timedelta(days=rng.randint(8, 30), hours=rng.randint(0, 12))
        if stale
        else ANCHOR - dt.timedelta(hours=rng.randint(1, 12))
    )
    times = [last]
    for _n in range(count - 1):
        times.append(
            times[-1] - dt.timedelta(hours=rng.randint(6, 14), minutes=rng.choice((0, 15, 30, 45)))
        )
    return times[::-1]


def _rounds(slug: str, patient: DemoPatient, trajectory: str) -> list[_Round]:
    """A patient's rounds of vital signs, oldest first, as its trajectory has them."""
    rng = _rng(slug, patient.id, "vitals")
    if trajectory == "none":
        return []
    times = _round_times(rng, rng.randint(5, 15), stale=trajectory == "stale")
    rounds = [_normal(rng, at) for at in times]
    if trajectory in ("stable", "single-red"):
        # Now and then a parameter scores 1, never in the latest round.
        rounds = [_mild(rng, r) if rng.random() < 0.2 else r for r in rounds[:-1]] + rounds[-1:]
    if trajectory == "single-red":
        rounds[-1] = _single_red(rng, rounds[-1])
    elif trajectory == "deteriorating":
        medium = _medium(rng, times[-2])
        climb = len(rounds) - 2
        rounds = [
            _between(rounds[0], medium, i / climb, at) for i, at in enumerate(times[:climb])
        ] + [medium, _high(rng, times[-1])]
    elif trajectory == "incomplete":
        missing = rng.sample(_VITALS, rng.randint(2, 4))
        rounds = [replace(r, **{field: None for v in missing for field in v[1]}) for r in rounds]
    return rounds


# Each vital sign: the key in its ids, the _Round fields it shows, its LOINC codings, its text.
_VITALS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], str], ...] = (
    ("rr", ("respiratory_rate",), (("9279-1", "Respiratory rate"),), "Respirasjonsfrekvens"),
    (
        "spo2",
        ("spo2",),
        (
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ),
        "Oksygenmetning",
    ),
    ("o2", ("oxygen_flow",), (("3151-8", "Inhaled oxygen flow rate"),), "Oksygentilførsel"),
    (
        "bp",
        ("systolic", "diastolic"),
        (("85354-9", "Blood pressure panel with all children optional"),),
        "Blodtrykk",
    ),
    ("hr", ("pulse",), (("8867-4", "Heart rate"),), "Puls"),
    ("acvpu", ("acvpu",), (("67775-7", "Level of responsiveness"),), "Bevissthetsnivå (ACVPU)"),
    ("temp", ("temperature",), (("8310-5", "Body temperature"),), "Temperatur"),
)
_UCUM_UNITS = {
    "respiratory_rate": "/min",
    "spo2": "%",
    "oxygen_flow": "L/min",
    "pulse": "/min",
    "temperature": "Cel",
}


def _vital_signs(slug: str, carers: _Carers, patient: DemoPatient) -> list[Resource]:
    number = patient.id.removeprefix("pas-")
    found = []
    for n, measured in enumerate(_rounds(slug, patient, trajectory_of(slug, patient.id)), 1):
        for key, fields, codings, text in _VITALS:
            if getattr(measured, fields[0]) is None:
                continue
            observation: Resource = {
                "resourceType": "Observation",
                "id": f"obs-{number}-{n:02d}-{key}",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": OBSERVATION_CATEGORY,
                                "code": "vital-signs",
                                "display": "Vital Signs",
                            }
                        ],
                        "text": "Vitale parametere",
                    }
                ],
                "code": {
                    "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codings],
                    "text": text,
                },
                "subject": _ref("Patient", patient.id),
                "effectiveDateTime": _instant(measured.at),
                "performer": [_ref("Practitioner", carers.nurse)],
            }
            observation.update(_value(measured, key))
            found.append(observation)
    return found


def _value(measured: _Round, key: str) -> Resource:
    """The value[x] (or, for blood pressure, the components) of one vital sign."""
    if key == "bp":
        return {
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                    "valueQuantity": _quantity(value, "mm[Hg]"),
                }
                for code, display, value in (
                    ("8480-6", "Systolic blood pressure", measured.systolic),
                    ("8462-4", "Diastolic blood pressure", measured.diastolic),
                )
            ]
        }
    if key == "acvpu":
        return {"valueCodeableConcept": {"text": measured.acvpu}}
    field = next(fields[0] for k, fields, _codings, _text in _VITALS if k == key)
    return {"valueQuantity": _quantity(getattr(measured, field), _UCUM_UNITS[field])}


def _quantity(value: float, unit: str) -> Resource:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


# --- Diagnoses, medication, allergies ---------------------------------------------------------


def _conditions(slug: str, patient: DemoPatient) -> list[Resource]:
    rng = _rng(slug, patient.id, "conditions")
    number = patient.id.removeprefix("pas-")
    found = []
    for n, diagnosis in enumerate(rng.sample(_DIAGNOSES, rng.randint(1, 4)), 1):
        onset = ANCHOR.date() - dt.timedelta(
            days=rng.randint(20, 60) if diagnosis.resolves else rng.randint(180, 5000)
        )
        status = "resolved" if diagnosis.resolves else "active"
        condition: Resource = {
            "resourceType": "Condition",
            "id": f"cond-{number}-{n}",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": status}]},
            "verificationStatus": {
                "coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]
            },
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
            "code": {
                "coding": [
                    {"system": ICD10, "code": diagnosis.icd10, "display": diagnosis.display}
                ],
                "text": diagnosis.display,
            },
            "subject": _ref("Patient", patient.id),
            "onsetDateTime": onset.isoformat(),
        }
        if diagnosis.resolves:
            condition["abatementDateTime"] = (onset + dt.timedelta(days=7)).isoformat()
        found.append(condition)
    return found


def _medication_statements(
    slug: str, patient: DemoPatient, conditions: list[Resource]
) -> list[Resource]:
    """What the patient takes for the conditions, and now and then paracetamol: one to five."""
    rng = _rng(slug, patient.id, "medication")
    by_code = {diagnosis.icd10: diagnosis for diagnosis in _DIAGNOSES}
    taken: list[tuple[_Medication, Resource | None]] = []
    for condition in conditions:
        diagnosis = by_code[condition["code"]["coding"][0]["code"]]
        taken += [(medication, condition) for medication in diagnosis.medications]
    if rng.random() < 0.4:
        taken.append((_PARACETAMOL, None))
    number = patient.id.removeprefix("pas-")
    found = []
    for n, (medication, condition) in enumerate(taken[:5], 1):
        over = condition is not None and "abatementDateTime" in condition
        if condition is None:
            start = (ANCHOR.date() - dt.timedelta(days=rng.randint(30, 700))).isoformat()
        else:
            start = condition["onsetDateTime"]
        period = {"start": start}
        if over:
            period["end"] = condition["abatementDateTime"]
        statement: Resource = {
            "resourceType": "MedicationStatement",
            "id": f"med-{number}-{n}",
            "status": "completed" if over else "active",
            "medicationCodeableConcept": {
                "coding": [{"system": ATC, "code": medication.atc, "display": medication.display}],
                "text": medication.text,
            },
            "subject": _ref("Patient", patient.id),
            "effectivePeriod": period,
            "dosage": [{"text": medication.dosage}],
        }
        if condition is not None:
            statement["reasonReference"] = [_ref("Condition", condition["id"])]
        found.append(statement)
    return found


def _allergies(slug: str, patient: DemoPatient) -> list[Resource]:
    """An allergy for about one patient in four."""
    rng = _rng(slug, patient.id, "allergies")
    if rng.random() >= 0.25:
        return []
    atc, text, category, reaction = rng.choice(_ALLERGIES)
    code: Resource = {"text": text}
    if atc:
        code["coding"] = [{"system": ATC, "code": atc, "display": text}]
    recorded = ANCHOR.date() - dt.timedelta(days=rng.randint(100, 8000))
    return [
        {
            "resourceType": "AllergyIntolerance",
            "id": f"allergy-{patient.id.removeprefix('pas-')}-1",
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "verificationStatus": {
                "coding": [{"system": ALLERGY_VERIFICATION, "code": "confirmed"}]
            },
            "type": "allergy",
            "category": [category],
            "criticality": "high" if category == "food" else "low",
            "code": code,
            "patient": _ref("Patient", patient.id),
            "recordedDate": recorded.isoformat(),
            "reaction": [{"manifestation": [{"text": reaction}]}],
        }
    ]


# --- Municipal services -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Service:
    kind: str
    start: dt.date
    end: dt.date | None  # None while it goes on


def _services(slug: str, patient: DemoPatient) -> list[_Service]:
    """The services a patient has had or has, in SERVICE_KINDS order.

    A long-term stay ends what came before it: a short-term stay leading up to it and home
    nursing until then. Only the young go to the health station; they do not get nursing homes.
    """
    count = _from_block(slug, _number(slug, patient.id), "services", _SERVICE_COUNT_BLOCK)
    rng = _rng(slug, patient.id, "services")
    pool = (
        ("helsestasjon", "fysioterapi", "fastlege", "hjemmesykepleie")
        if patient.birth_date.year >= 1980
        else ("hjemmesykepleie", "korttidsopphold", "langtidsopphold", "fysioterapi", "fastlege")
    )
    kinds = set(rng.sample(pool, count))
    today = ANCHOR.date()

    def ago(low: int, high: int) -> dt.date:
        return today - dt.timedelta(days=rng.randint(low, high))

    found = {}
    if "langtidsopphold" in kinds:
        moved_in = ago(30, 1500)
        found["langtidsopphold"] = _Service("langtidsopphold", moved_in, None)
        if "korttidsopphold" in kinds:
            found["korttidsopphold"] = _Service(
                "korttidsopphold", moved_in - dt.timedelta(days=rng.randint(14, 42)), moved_in
            )
        if "hjemmesykepleie" in kinds:
            left_home = found.get("korttidsopphold", found["langtidsopphold"]).start
            found["hjemmesykepleie"] = _Service(
                "hjemmesykepleie", left_home - dt.timedelta(days=rng.randint(120, 1500)), left_home
            )
    elif "korttidsopphold" in kinds:
        start = ago(3, 120)
        end = start + dt.timedelta(days=rng.randint(21, 35))
        found["korttidsopphold"] = _Service("korttidsopphold", start, end if end < today else None)
    if "hjemmesykepleie" in kinds and "hjemmesykepleie" not in found:
        found["hjemmesykepleie"] = _Service("hjemmesykepleie", ago(14, 1500), None)
    if "fysioterapi" in kinds:
        # Physiotherapy is a course of treatment: often over.
        start = ago(14, 400)
        end = start + dt.timedelta(days=rng.randint(60, 120))
        found["fysioterapi"] = _Service("fysioterapi", start, end if end < today else None)
    if "helsestasjon" in kinds:
        found["helsestasjon"] = _Service("helsestasjon", ago(30, 700), None)
    if "fastlege" in kinds:
        found["fastlege"] = _Service("fastlege", ago(365, 5000), None)
    return [found[kind] for kind in SERVICE_KINDS if kind in found]


def _service_resources(
    slug: str, team: _Team, carers: _Carers, patient: DemoPatient, conditions: list[Resource]
) -> list[Resource]:
    """Each service as an EpisodeOfCare and a CarePlan, and a ServiceRequest if it has one."""
    rng = _rng(slug, patient.id, "service-requests")
    number = patient.id.removeprefix("pas-")
    active_conditions = [
        c["id"] for c in conditions if c["clinicalStatus"]["coding"][0]["code"] == "active"
    ]
    found = []
    for service in _services(slug, patient):
        kind = _SERVICES[service.kind]
        unit = f"org-{slug}-{kind.unit}"
        manager = carers.of(kind.manager)
        ongoing = service.end is None
        period = {"start": service.start.isoformat()}
        if not ongoing:
            period["end"] = service.end.isoformat()
        episode_id = f"eoc-{number}-{service.kind}"
        found.append(
            {
                "resourceType": "EpisodeOfCare",
                "id": episode_id,
                "status": "active" if ongoing else "finished",
                "type": [{"text": kind.type_text}],
                "patient": _ref("Patient", patient.id),
                "managingOrganization": _ref("Organization", unit),
                "period": period,
                "careManager": _ref("Practitioner", manager, team.names[manager]),
            }
        )
        plan: Resource = {
            "resourceType": "CarePlan",
            "id": f"cp-{number}-{service.kind}",
            "status": "active" if ongoing else "completed",
            "intent": "plan",
            "title": kind.plan_title,
            "description": kind.plan_description,
            "subject": _ref("Patient", patient.id),
            "period": dict(period),
            "author": _ref("Practitioner", manager, team.names[manager]),
            "contributor": [_ref("Organization", unit)],
            "supportingInfo": [_ref("EpisodeOfCare", episode_id)],
            "activity": [
                {
                    "detail": {
                        "status": "in-progress" if ongoing else "completed",
                        "description": activity,
                        "performer": [_ref("Organization", unit)],
                    }
                }
                for activity in kind.activities
            ],
        }
        if active_conditions and service.kind in ("hjemmesykepleie", "fastlege"):
            plan["addresses"] = [_ref("Condition", c) for c in active_conditions]
        found.append(plan)
        if kind.request:
            authored = service.start - dt.timedelta(days=rng.randint(3, 14))
            found.append(
                {
                    "resourceType": "ServiceRequest",
                    "id": f"sr-{number}-{service.kind}",
                    "status": "active" if ongoing else "completed",
                    "intent": "order",
                    "code": {"text": kind.request},
                    "subject": _ref("Patient", patient.id),
                    "authoredOn": authored.isoformat(),
                    "requester": _ref("Practitioner", carers.gp, team.names[carers.gp]),
                    "performer": [_ref("Organization", unit)],
                }
            )
    return found


# --- Small helpers ----------------------------------------------------------------------------


def _ref(resource_type: str, resource_id: str, display: str | None = None) -> Resource:
    reference: Resource = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        reference["display"] = display
    return reference


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
