// The services view model, from resources shaped as gateway/synthetic.py makes them.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  buildServiceOverview,
  decisionFor,
  missingPractitionerIds,
  NO_SERVICES_MESSAGE,
  summaryText,
  UNKNOWN_UNIT,
} from "./services.mjs";

const ref = (type, id, display) => ({ reference: `${type}/${id}`, ...(display && { display }) });
const PATIENT = ref("Patient", "pas-oslo-005");

function unit(key, name, phone) {
  return {
    resourceType: "Organization",
    id: `org-oslo-${key}`,
    active: true,
    type: [{ text: name }],
    name,
    telecom: [
      ...(phone ? [{ system: "phone", value: phone, use: "work" }] : []),
      { system: "email", value: `${key}@oslo.kommune.example`, use: "work" },
    ],
    address: [{ use: "work", line: ["Storgata 12"], city: "Oslo", postalCode: "0150" }],
    partOf: ref("Organization", "org-oslo", "Oslo kommune"),
  };
}

function practitioner(id, given, family) {
  return {
    resourceType: "Practitioner",
    id,
    identifier: [{ system: "urn:oid:2.16.578.1.12.4.1.4.4", value: id.slice(4) }],
    active: true,
    name: [{ use: "official", family, given: [given] }],
  };
}

// A service as synthetic._service_resources makes it: EpisodeOfCare, CarePlan, ServiceRequest.
function service(kind, { type, unitKey, start, end, manager, plan, request, authored }) {
  const period = end ? { start, end } : { start };
  const ongoing = !end;
  const found = [
    {
      resourceType: "EpisodeOfCare",
      id: `eoc-oslo-005-${kind}`,
      status: ongoing ? "active" : "finished",
      type: [{ text: type }],
      patient: PATIENT,
      managingOrganization: ref("Organization", `org-oslo-${unitKey}`),
      period,
      careManager: ref("Practitioner", manager[0], manager[1]),
    },
    {
      resourceType: "CarePlan",
      id: `cp-oslo-005-${kind}`,
      status: ongoing ? "active" : "completed",
      intent: "plan",
      title: plan[0],
      description: plan[1],
      subject: PATIENT,
      period: { ...period },
      author: ref("Practitioner", manager[0], manager[1]),
      contributor: [ref("Organization", `org-oslo-${unitKey}`)],
      supportingInfo: [ref("EpisodeOfCare", `eoc-oslo-005-${kind}`)],
    },
  ];
  if (request) {
    found.push({
      resourceType: "ServiceRequest",
      id: `sr-oslo-005-${kind}`,
      status: ongoing ? "active" : "completed",
      intent: "order",
      code: { text: request },
      subject: PATIENT,
      authoredOn: authored,
      requester: ref("Practitioner", "hpr-1111111", "Kari Lege"),
      performer: [ref("Organization", `org-oslo-${unitKey}`)],
    });
  }
  return found;
}

const NURSE = ["hpr-2222222", "Ola Nordmann"];
const PHYSIO = ["hpr-3333333", "Ingrid Berg"];

// A patient who had home nursing, then a short stay, and now lives at the nursing home; and
// who has physiotherapy. The short and the long stay share one unit, as in synthetic.py.
function bundle() {
  return [
    ...service("hjemmesykepleie", {
      type: "Hjemmesykepleie",
      unitKey: "hjemmesykepleie",
      start: "2021-02-10",
      end: "2023-05-01",
      manager: NURSE,
      plan: ["Tiltaksplan for hjemmesykepleie", "Hjemmesykepleie morgen og kveld."],
      request: "Vedtak om hjemmesykepleie",
      authored: "2021-02-01",
    }),
    ...service("korttidsopphold", {
      type: "Korttidsopphold i sykehjem",
      unitKey: "sykehjem",
      start: "2023-05-01",
      end: "2023-06-01",
      manager: NURSE,
      plan: ["Plan for korttidsopphold", "Korttidsopphold for opptrening."],
      request: "Vedtak om korttidsopphold i sykehjem",
      authored: "2023-04-25",
    }),
    ...service("langtidsopphold", {
      type: "Langtidsopphold i sykehjem",
      unitKey: "sykehjem",
      start: "2023-06-01",
      manager: NURSE,
      plan: ["Pleieplan for langtidsopphold", "Heldøgns pleie og omsorg i sykehjem."],
      request: "Vedtak om langtidsopphold i sykehjem",
      authored: "2023-05-20",
    }),
    ...service("fysioterapi", {
      type: "Fysioterapi",
      unitKey: "fysioterapi",
      start: "2024-01-15",
      manager: PHYSIO,
      plan: ["Opptreningsplan", "Fysioterapi hjemme én gang i uken."],
      request: "Henvisning til fysioterapi",
      authored: "2024-01-05",
    }),
    unit("hjemmesykepleie", "Hjemmesykepleien i Oslo", "+47 222 33 444"),
    unit("sykehjem", "Solbakken sykehjem", "+47 255 66 777"),
    unit("fysioterapi", "Fysio- og ergoterapitjenesten i Oslo", "+47 288 99 111"),
    practitioner(...NURSE.slice(0, 1), "Ola", "Nordmann"),
    { resourceType: "Patient", id: "pas-oslo-005" },
  ];
}

const byName = (overview) => Object.fromEntries(overview.services.map((s) => [s.name, s]));

test("a service shows its name, status, dates, unit with contact and care manager", () => {
  const service = byName(buildServiceOverview(bundle()))["Hjemmesykepleie"];

  assert.equal(service.id, "eoc-oslo-005-hjemmesykepleie");
  assert.equal(service.status, "ended");
  assert.equal(service.statusLabel, "Avsluttet");
  assert.equal(service.since, "10.02.2021");
  assert.equal(service.ended, "01.05.2023");
  assert.equal(service.unit.name, "Hjemmesykepleien i Oslo");
  assert.deepEqual(service.unit.phone, { text: "+47 222 33 444", href: "tel:+4722233444" });
  assert.deepEqual(service.unit.email, {
    text: "hjemmesykepleie@oslo.kommune.example",
    href: "mailto:hjemmesykepleie@oslo.kommune.example",
  });
  assert.equal(service.careManager, "Ola Nordmann");
});

test("an ongoing service is active and has no end date", () => {
  const service = byName(buildServiceOverview(bundle()))["Fysioterapi"];

  assert.equal(service.active, true);
  assert.equal(service.status, "active");
  assert.equal(service.statusLabel, "Aktiv");
  assert.equal(service.ended, null);
});

test("active services come first, each group by start date, newest first", () => {
  const names = buildServiceOverview(bundle()).services.map((s) => s.name);

  assert.deepEqual(names, [
    "Fysioterapi",
    "Langtidsopphold i sykehjem",
    "Korttidsopphold i sykehjem",
    "Hjemmesykepleie",
  ]);
});

test("a service without a start date sorts last within its group", () => {
  const resources = bundle();
  delete resources.find((r) => r.id === "eoc-oslo-005-fysioterapi").period;
  const overview = buildServiceOverview(resources);

  assert.deepEqual(
    overview.services.filter((s) => s.active).map((s) => s.name),
    ["Langtidsopphold i sykehjem", "Fysioterapi"],
  );
  assert.equal(byName(overview)["Fysioterapi"].since, null);
});

test("the overview counts active and ended services and says so in a sentence", () => {
  const overview = buildServiceOverview(bundle());

  assert.equal(overview.empty, false);
  assert.equal(overview.message, null);
  assert.equal(overview.activeCount, 2);
  assert.equal(overview.endedCount, 2);
  assert.equal(summaryText(overview), "4 tjenester: 2 aktive, 2 avsluttede.");
});

test("the summary uses the singular for one service", () => {
  const overview = { empty: false, activeCount: 1, endedCount: 0 };

  assert.equal(summaryText(overview), "1 tjeneste: 1 aktiv, 0 avsluttede.");
});

test("a care plan that refers to the episode is shown with it", () => {
  const service = byName(buildServiceOverview(bundle()))["Langtidsopphold i sykehjem"];

  assert.deepEqual(service.carePlan, {
    title: "Pleieplan for langtidsopphold",
    description: "Heldøgns pleie og omsorg i sykehjem.",
    statusLabel: "Aktiv",
  });
});

test("an episode no care plan refers to has no care plan", () => {
  const resources = bundle().filter((r) => r.id !== "cp-oslo-005-fysioterapi");

  assert.equal(byName(buildServiceOverview(resources))["Fysioterapi"].carePlan, null);
});

test("each of two stays at the same nursing home gets its own decision", () => {
  const services = byName(buildServiceOverview(bundle()));

  assert.equal(
    services["Korttidsopphold i sykehjem"].decision.text,
    "Vedtak om korttidsopphold i sykehjem",
  );
  assert.equal(
    services["Langtidsopphold i sykehjem"].decision.text,
    "Vedtak om langtidsopphold i sykehjem",
  );
});

test("a decision shows its status, date and requester", () => {
  const service = byName(buildServiceOverview(bundle()))["Fysioterapi"];

  assert.deepEqual(service.decision, {
    text: "Henvisning til fysioterapi",
    statusLabel: "Aktiv",
    authored: "05.01.2024",
    requester: "Kari Lege",
  });
});

test("a service given twice gets the decision made before each time", () => {
  const first = service("hjemmesykepleie", {
    type: "Hjemmesykepleie",
    unitKey: "hjemmesykepleie",
    start: "2020-01-10",
    end: "2020-06-01",
    manager: NURSE,
    plan: ["Plan", "Første periode."],
    request: "Vedtak om hjemmesykepleie",
    authored: "2020-01-02",
  }).map((r) => ({ ...r, id: `${r.id}-1` }));
  const second = service("hjemmesykepleie", {
    type: "Hjemmesykepleie",
    unitKey: "hjemmesykepleie",
    start: "2024-03-01",
    manager: NURSE,
    plan: ["Plan", "Andre periode."],
    request: "Vedtak om hjemmesykepleie",
    authored: "2024-02-20",
  });
  const requests = [...first, ...second].filter((r) => r.resourceType === "ServiceRequest");
  const episodes = [...first, ...second].filter((r) => r.resourceType === "EpisodeOfCare");

  assert.equal(decisionFor(episodes[0], requests, episodes).authoredOn, "2020-01-02");
  assert.equal(decisionFor(episodes[1], requests, episodes).authoredOn, "2024-02-20");
});

test("a decision that names the service matches even when another unit performs it", () => {
  const resources = bundle();
  const request = resources.find((r) => r.id === "sr-oslo-005-fysioterapi");
  request.performer = [ref("Organization", "org-oslo-legekontor")];

  assert.equal(
    byName(buildServiceOverview(resources))["Fysioterapi"].decision.text,
    "Henvisning til fysioterapi",
  );
});

test("a decision that does not name the service matches when it is the unit's only one", () => {
  const resources = bundle();
  resources.find((r) => r.id === "sr-oslo-005-fysioterapi").code = { text: "Vedtak" };

  assert.equal(byName(buildServiceOverview(resources))["Fysioterapi"].decision.text, "Vedtak");
});

test("an unnamed decision is not pinned on one of two services at the same unit", () => {
  const resources = bundle().filter((r) => r.id !== "sr-oslo-005-korttidsopphold");
  resources.find((r) => r.id === "sr-oslo-005-langtidsopphold").code = { text: "Vedtak" };
  const services = byName(buildServiceOverview(resources));

  assert.equal(services["Korttidsopphold i sykehjem"].decision, null);
  assert.equal(services["Langtidsopphold i sykehjem"].decision, null);
});

test("a service without a decision, such as the GP, has none", () => {
  const resources = [
    ...service("fastlege", {
      type: "Fastlege",
      unitKey: "legekontor",
      start: "2015-04-01",
      manager: ["hpr-1111111", "Kari Lege"],
      plan: ["Oppfølgingsplan hos fastlegen", "Kontroll hver tredje måned."],
    }),
    ...bundle().filter((r) => r.resourceType === "ServiceRequest"),
  ];

  assert.equal(buildServiceOverview(resources).services[0].decision, null);
});

test("a unit missing from the bundle shows as unknown, without contact", () => {
  const resources = bundle().filter((r) => r.id !== "org-oslo-fysioterapi");
  const service = byName(buildServiceOverview(resources))["Fysioterapi"];

  assert.equal(service.unit.name, UNKNOWN_UNIT);
  assert.equal(service.unit.known, false);
  assert.equal(service.unit.phone, null);
  assert.equal(service.unit.email, null);
});

test("an episode without a managing organization shows an unknown unit", () => {
  const resources = bundle();
  delete resources.find((r) => r.id === "eoc-oslo-005-fysioterapi").managingOrganization;

  assert.equal(byName(buildServiceOverview(resources))["Fysioterapi"].unit.name, UNKNOWN_UNIT);
});

test("a unit without telecom has no phone and no e-mail", () => {
  const resources = bundle();
  delete resources.find((r) => r.id === "org-oslo-sykehjem").telecom;
  const service = byName(buildServiceOverview(resources))["Langtidsopphold i sykehjem"];

  assert.equal(service.unit.name, "Solbakken sykehjem");
  assert.equal(service.unit.phone, null);
  assert.equal(service.unit.email, null);
});

test("a unit with only an e-mail address has no phone", () => {
  const resources = bundle();
  resources.find((r) => r.id === "org-oslo-fysioterapi").telecom = [
    { system: "email", value: "fysio@oslo.kommune.example" },
  ];
  const unit = byName(buildServiceOverview(resources))["Fysioterapi"].unit;

  assert.equal(unit.phone, null);
  assert.equal(unit.email.text, "fysio@oslo.kommune.example");
});

test("a care manager not in the bundle falls back to the reference's display", () => {
  const service = byName(buildServiceOverview(bundle()))["Fysioterapi"];

  assert.equal(service.careManager, "Ingrid Berg");
});

test("an episode without a care manager has none", () => {
  const resources = bundle();
  delete resources.find((r) => r.id === "eoc-oslo-005-fysioterapi").careManager;

  assert.equal(byName(buildServiceOverview(resources))["Fysioterapi"].careManager, null);
});

test("the practitioners to read are those referred to but not in the bundle", () => {
  assert.deepEqual(missingPractitionerIds(bundle()), ["hpr-1111111", "hpr-3333333"]);
});

test("a planned service is neither active nor ended, and is counted apart", () => {
  const resources = bundle();
  const episode = resources.find((r) => r.id === "eoc-oslo-005-fysioterapi");
  episode.status = "planned";
  const overview = buildServiceOverview(resources);
  const service = byName(overview)["Fysioterapi"];

  assert.equal(service.status, "other");
  assert.equal(service.statusLabel, "Planlagt");
  assert.equal(overview.services[0].name, "Langtidsopphold i sykehjem");
  assert.equal(
    summaryText(overview),
    "4 tjenester: 1 aktiv, 2 avsluttede, 1 planlagt eller satt på vent.",
  );
});

test("an episode entered in error is left out", () => {
  const resources = bundle();
  resources.find((r) => r.id === "eoc-oslo-005-fysioterapi").status = "entered-in-error";

  assert.equal(byName(buildServiceOverview(resources))["Fysioterapi"], undefined);
  assert.equal(buildServiceOverview(resources).services.length, 3);
});

test("a patient without services gets the explicit no-services model", () => {
  const overview = buildServiceOverview([]);

  assert.deepEqual(overview, {
    empty: true,
    message: NO_SERVICES_MESSAGE,
    activeCount: 0,
    endedCount: 0,
    otherCount: 0,
    services: [],
  });
  assert.equal(summaryText(overview), NO_SERVICES_MESSAGE);
});

test("organizations and practitioners alone make no services", () => {
  const resources = bundle().filter((r) => r.resourceType !== "EpisodeOfCare");

  assert.equal(buildServiceOverview(resources).empty, true);
});

test("nothing at all is read as no services", () => {
  assert.equal(buildServiceOverview(undefined).empty, true);
});
