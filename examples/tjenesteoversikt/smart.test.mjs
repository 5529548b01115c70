// Launch settings, patient banner, error messages, and the FHIR formatting they use.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDate, personName, referenceId } from "./fhir-format.mjs";
import {
  DEFAULT_SCOPE,
  errorView,
  launchSettings,
  maskIdentifier,
  patientBanner,
  REDIRECT_URI,
} from "./smart.mjs";

const CONFIG = { clientId: "tjenesteoversikt-oslo", scope: "launch openid patient/Patient.r" };
const ISS = "https://torget.example/fhir/oslo";

test("an EHR launch takes iss and launch from the query and the client id from config", () => {
  const query = `?iss=${encodeURIComponent(ISS)}&launch=abc123`;

  assert.deepEqual(launchSettings(query, CONFIG), {
    options: {
      clientId: "tjenesteoversikt-oslo",
      scope: CONFIG.scope,
      redirectUri: REDIRECT_URI,
      iss: ISS,
      launch: "abc123",
    },
    problem: null,
  });
});

test("a client_id in the query wins over config.json", () => {
  const { options } = launchSettings(`?iss=${ISS}&client_id=from-query`, CONFIG);

  assert.equal(options.clientId, "from-query");
});

test("a config without scope asks for the app's default scopes", () => {
  const { options } = launchSettings(`?iss=${ISS}&launch=abc`, { clientId: "x" });

  assert.equal(options.scope, DEFAULT_SCOPE);
  assert.match(DEFAULT_SCOPE, /patient\/EpisodeOfCare\.rs/);
});

test("a standalone launch does not ask for the journal's launch context", () => {
  const { options } = launchSettings(`?iss=${ISS}`, {
    clientId: "x",
    scope: "launch launch/patient openid patient/Patient.r",
  });

  assert.equal(options.scope, "launch/patient openid patient/Patient.r");
  assert.equal(options.launch, undefined);
});

test("the placeholder client id stops the launch with a message", () => {
  const { problem } = launchSettings(`?iss=${ISS}`, { clientId: "CHANGE-ME" });

  assert.match(problem, /klient-ID mangler/);
});

test("a launch without iss stops with a message", () => {
  const { problem } = launchSettings("?launch=abc", CONFIG);

  assert.match(problem, /iss/);
});

test("the banner masks the fødselsnummer to its first six digits", () => {
  const banner = patientBanner({
    resourceType: "Patient",
    identifier: [{ system: "urn:oid:2.16.578.1.12.4.1.4.1", value: "01015012345" }],
    name: [{ use: "official", family: "Hansen", given: ["Kari"] }],
    birthDate: "1950-01-01",
  });

  assert.deepEqual(banner, {
    name: "Kari Hansen",
    birthDate: "01.01.1950",
    identifierLabel: "Fødselsnummer",
    identifier: "010150 *****",
  });
});

test("the banner shows a D-nummer masked when there is no fødselsnummer", () => {
  const banner = patientBanner({
    identifier: [{ system: "urn:oid:2.16.578.1.12.4.1.4.2", value: "41015012345" }],
  });

  assert.equal(banner.identifierLabel, "D-nummer");
  assert.equal(banner.identifier, "410150 *****");
  assert.equal(banner.name, "Navn ukjent");
});

test("the banner has no identifier when the patient has none", () => {
  const banner = patientBanner({ name: [{ text: "Ola Nordmann" }] });

  assert.equal(banner.identifier, null);
  assert.equal(banner.identifierLabel, null);
  assert.equal(banner.birthDate, null);
});

test("a too short identifier is not shown", () => {
  assert.equal(maskIdentifier("1234"), null);
});

test("a refused token (401 or 403) says the app no longer has access", () => {
  for (const status of [401, 403]) {
    assert.equal(errorView("read", { status }).title, "Appen har ikke lenger tilgang");
  }
  assert.equal(errorView("launch", { statusCode: 403 }).title, "Appen har ikke lenger tilgang");
});

test("a failed launch, a missing patient and a failed read each have their message", () => {
  assert.equal(errorView("launch", new Error("x")).title, "Oppstarten av appen mislyktes");
  assert.equal(errorView("context", null).title, "Ingen pasient er valgt");
  assert.equal(errorView("read", { status: 500 }).title, "Kunne ikke hente tjenestene");
});

test("dates are written dd.mm.yyyy, from dates and dateTimes alike", () => {
  assert.equal(formatDate("2024-03-05"), "05.03.2024");
  assert.equal(formatDate("2024-03-05T23:30:00+01:00"), "05.03.2024");
  assert.equal(formatDate("2024-03"), "03.2024");
  assert.equal(formatDate("2024"), "2024");
});

test("what is no date formats as null", () => {
  assert.equal(formatDate(undefined), null);
  assert.equal(formatDate("i går"), null);
  assert.equal(formatDate("2024-13-01"), null);
});

test("a person's official name is preferred", () => {
  const practitioner = {
    name: [
      { use: "old", family: "Olsen", given: ["Kari"] },
      { use: "official", family: "Hansen", given: ["Kari", "Anne"] },
    ],
  };

  assert.equal(personName(practitioner), "Kari Anne Hansen");
  assert.equal(personName({}), null);
});

test("a reference gives its id only for the type asked for", () => {
  const absolute = "https://t.example/fhir/oslo/Organization/o1/_history/2";

  assert.equal(
    referenceId({ reference: "Organization/org-oslo-sykehjem" }, "Organization"),
    "org-oslo-sykehjem",
  );
  assert.equal(referenceId({ reference: absolute }, "Organization"), "o1");
  assert.equal(referenceId({ reference: "Practitioner/p1" }, "Organization"), null);
  assert.equal(referenceId({ reference: "#contained" }, "Organization"), null);
  assert.equal(referenceId(undefined, "Organization"), null);
});
