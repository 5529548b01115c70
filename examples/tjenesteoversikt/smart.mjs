// The SMART side of the page, without the browser: launch settings, the patient banner and
// the error messages. Pure: no DOM and no FHIR client, so node can test it (smart.test.mjs).

import { formatDate, personName } from "./fhir-format.mjs";

export const REDIRECT_URI = "index.html";
export const DEFAULT_SCOPE =
  "launch launch/patient openid fhirUser patient/Patient.r patient/EpisodeOfCare.rs " +
  "patient/CarePlan.rs patient/ServiceRequest.rs patient/Organization.rs " +
  "patient/Practitioner.rs";
// The placeholder config.json ships with until the demo writes the real client id.
export const PLACEHOLDER_CLIENT_ID = "CHANGE-ME";

const FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1";
const DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2";

/**
 * The options for FHIR.oauth2.authorize() from the launch URL's query (a string or
 * URLSearchParams) and config.json's object, and what stops the launch, if anything.
 *
 * Returns { options, problem }: `problem` is null or a sentence in bokmål for the user. The
 * client id is the query's `client_id` if given, else the config's.
 */
export function launchSettings(query, config) {
  const params = new URLSearchParams(query);
  const settings = config || {};
  const clientId = (params.get("client_id") || settings.clientId || "").trim();
  const iss = (params.get("iss") || "").trim();
  const launch = params.get("launch");
  const scopes = (settings.scope || DEFAULT_SCOPE).split(/\s+/).filter(Boolean);
  const options = {
    clientId,
    // `launch` asks for the journal's launch context: a standalone launch has none to give.
    scope: (launch ? scopes : scopes.filter((scope) => scope !== "launch")).join(" "),
    redirectUri: REDIRECT_URI,
    iss,
  };
  if (launch) {
    options.launch = launch;
  }
  let problem = null;
  if (!clientId || clientId === PLACEHOLDER_CLIENT_ID) {
    problem = "Appen er ikke ferdig satt opp: klient-ID mangler.";
  } else if (!iss) {
    problem = "Appen må startes fra journalsystemet eller fra Torget (adressen mangler «iss»).";
  }
  return { options, problem };
}

/**
 * The patient banner: { name, birthDate, identifierLabel, identifier }, the fødselsnummer
 * (or D-nummer) masked to its first six digits, the birth date as dd.mm.yyyy. Missing parts
 * are null.
 */
export function patientBanner(patient) {
  const identifiers = (patient && patient.identifier) || [];
  const fnr = identifiers.find((id) => id.system === FNR_SYSTEM && id.value);
  const dnr = identifiers.find((id) => id.system === DNR_SYSTEM && id.value);
  const chosen = fnr || dnr;
  return {
    name: personName(patient) || "Navn ukjent",
    birthDate: formatDate(patient && patient.birthDate),
    identifierLabel: chosen ? (fnr ? "Fødselsnummer" : "D-nummer") : null,
    identifier: chosen ? maskIdentifier(chosen.value) : null,
  };
}

/** "01015012345" -> "010150 *****": only the birth date part shows; null if too short. */
export function maskIdentifier(value) {
  const digits = String(value || "").replace(/\D/g, "");
  return digits.length >= 6 ? `${digits.slice(0, 6)} *****` : null;
}

/**
 * What to tell the user when a step fails: { title, detail } in bokmål.
 * `stage` is "launch" (the SMART launch or FHIR.oauth2.ready() failed), "context" (no patient
 * in the launch context) or "read" (the FHIR API). A 401 or 403 means the token is refused,
 * e.g. because the municipality has turned the app off, whatever the stage.
 */
export function errorView(stage, error) {
  const status = Number((error && (error.status || error.statusCode)) || 0);
  if (status === 401 || status === 403) {
    return {
      title: "Appen har ikke lenger tilgang",
      detail:
        "Kommunen kan ha slått av appen, eller økten er utløpt. Start appen på nytt fra " +
        "journalsystemet. Vedvarer feilen, kontakt kommunens systemansvarlige.",
    };
  }
  if (stage === "context") {
    return {
      title: "Ingen pasient er valgt",
      detail:
        "Appen viser tjenestene til én pasient. Start den fra pasientens journal, " +
        "eller velg en pasient når appen starter.",
    };
  }
  if (stage === "launch") {
    return {
      title: "Oppstarten av appen mislyktes",
      detail: "Start appen på nytt fra journalsystemet. Vedvarer feilen, kontakt brukerstøtte.",
    };
  }
  return {
    title: "Kunne ikke hente tjenestene",
    detail: "Prøv igjen om litt. Vedvarer feilen, kontakt brukerstøtte.",
  };
}
