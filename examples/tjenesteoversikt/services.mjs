// Tjenesteoversikt: the view model of a patient's municipal services, from plain FHIR R4 JSON.
// Pure: no DOM and no FHIR client, so node can test it (services.test.mjs).
//
// One service is one EpisodeOfCare. To it belong:
// - the unit: the Organization its managingOrganization refers to;
// - the care manager: the Practitioner its careManager refers to;
// - the care plan: a CarePlan whose supportingInfo refers to the episode;
// - the decision: a ServiceRequest chosen by decisionFor() below.

import { formatDate, personName, referenceId } from "./fhir-format.mjs";

export const NO_SERVICES_MESSAGE = "Pasienten mottar ingen kommunale tjenester registrert her.";
export const UNKNOWN_UNIT = "Ukjent enhet";
export const UNKNOWN_SERVICE = "Ukjent tjeneste";

const NUMBER = new Intl.NumberFormat("nb-NO");

// EpisodeOfCare status -> the label. Finished and cancelled are "ended"; planned, waitlist and
// onhold are neither active nor ended ("other"), and sort among the ended.
const ENDED = new Set(["finished", "cancelled"]);
const EPISODE_STATUS = {
  active: "Aktiv",
  finished: "Avsluttet",
  planned: "Planlagt",
  waitlist: "På venteliste",
  onhold: "Satt på vent",
  cancelled: "Avbrutt",
};

// CarePlan and ServiceRequest share one set of status codes (request-status).
const REQUEST_STATUS = {
  draft: "Utkast",
  active: "Aktiv",
  "on-hold": "Satt på vent",
  revoked: "Tilbakekalt",
  completed: "Fullført",
  unknown: "Ukjent status",
};

/**
 * The view model of every service in `resources`: any FHIR resources in any order (the
 * search results flattened together); types other than EpisodeOfCare, CarePlan,
 * ServiceRequest, Organization and Practitioner are ignored.
 *
 * Returns { empty, message, activeCount, endedCount, otherCount, services }: `services` holds
 * one entry per EpisodeOfCare (see serviceEntry), active ones first, then by start, newest
 * first; when there is none, `empty` is true and `message` says so in words for the user.
 */
export function buildServiceOverview(resources) {
  const found = byType(resources);
  const organizations = byId(found.Organization);
  const practitioners = byId(found.Practitioner);
  const episodes = found.EpisodeOfCare;
  const services = episodes
    .map((episode) =>
      serviceEntry(episode, { organizations, practitioners, found, episodes }),
    )
    .sort(compareServices);
  const counted = (status) => services.filter((service) => service.status === status).length;
  return {
    empty: services.length === 0,
    message: services.length === 0 ? NO_SERVICES_MESSAGE : null,
    activeCount: counted("active"),
    endedCount: counted("ended"),
    otherCount: counted("other"),
    services,
  };
}

/**
 * The ids of the Practitioners the services name (care managers, decision requesters) that
 * `resources` lacks: the gateway cannot _include them, so the page reads them one by one.
 */
export function missingPractitionerIds(resources) {
  const found = byType(resources);
  const present = new Set(found.Practitioner.map((practitioner) => practitioner.id));
  const references = [
    ...found.EpisodeOfCare.map((episode) => episode.careManager),
    ...found.ServiceRequest.map((request) => request.requester),
  ];
  const ids = references
    .map((reference) => referenceId(reference, "Practitioner"))
    .filter((id) => id && !present.has(id));
  return [...new Set(ids)].sort();
}

/**
 * The ServiceRequest that is the decision behind `episode`, or null. The rule, in order:
 * 1. a request that names the service (its code text contains the episode's type text, as
 *    "Vedtak om hjemmesykepleie" contains "Hjemmesykepleie") and is performed by the
 *    episode's unit;
 * 2. else a request that names the service, whoever performs it;
 * 3. else a request performed by the unit, but only when it is the unit's one request and
 *    the unit's one episode: a nursing home gives both short and long stays, and a request
 *    that names neither must not be pinned on the wrong one.
 * Among equals the request authored closest before the episode's start wins (a decision
 * comes before the service), then the one closest after it: a service given twice gets
 * each time's own decision.
 */
export function decisionFor(episode, requests, episodes) {
  const unit = referenceId(episode.managingOrganization, "Organization");
  const name = serviceName(episode).toLowerCase();
  const performedByUnit = (request) =>
    unit !== null &&
    (request.performer || []).some(
      (performer) => referenceId(performer, "Organization") === unit,
    );
  const namesService = (request) =>
    name !== UNKNOWN_SERVICE.toLowerCase() &&
    codeText(request.code).toLowerCase().includes(name);

  const candidates = requests.filter((request) => request.status !== "entered-in-error");
  let chosen = candidates.filter((r) => namesService(r) && performedByUnit(r));
  if (chosen.length === 0) {
    chosen = candidates.filter(namesService);
  }
  if (chosen.length === 0) {
    const atUnit = candidates.filter(performedByUnit);
    const episodesAtUnit = episodes.filter(
      (other) => referenceId(other.managingOrganization, "Organization") === unit,
    );
    chosen = atUnit.length === 1 && episodesAtUnit.length === 1 ? atUnit : [];
  }
  const start = dateKey(episode.period?.start);
  return chosen.sort((a, b) => closeness(a, start) - closeness(b, start))[0] || null;
}

/**
 * One line over the list: "3 tjenester: 2 aktive, 1 avsluttet." (numbers the Norwegian way);
 * the no-services message when there is none.
 */
export function summaryText(overview) {
  if (overview.empty) {
    return NO_SERVICES_MESSAGE;
  }
  const count = (n, one, many) => `${NUMBER.format(n)} ${n === 1 ? one : many}`;
  const { activeCount, endedCount, otherCount = 0 } = overview;
  const total = count(activeCount + endedCount + otherCount, "tjeneste", "tjenester");
  const parts = [
    count(activeCount, "aktiv", "aktive"),
    count(endedCount, "avsluttet", "avsluttede"),
  ];
  if (otherCount > 0) {
    parts.push(count(otherCount, "planlagt eller satt på vent", "planlagte eller satt på vent"));
  }
  return `${total}: ${parts.join(", ")}.`;
}

/** The name of a service: its EpisodeOfCare's type text (or coding display). */
export function serviceName(episode) {
  const type = (episode.type || [])[0];
  return codeText(type) || UNKNOWN_SERVICE;
}

// --- One service -------------------------------------------------------------------------

/**
 * One service: { id, name, active, status ("active", "ended" or "other"), statusLabel, since,
 * ended (dd.mm.yyyy or null), startKey (the start as YYYY-MM-DD, for sorting), unit { name,
 * known, phone, email }, careManager, carePlan { title, description, statusLabel } or null,
 * decision { text, statusLabel, authored, requester } or null }. Phone and e-mail are
 * { text, href } or null.
 */
function serviceEntry(episode, { organizations, practitioners, found, episodes }) {
  const period = episode.period || {};
  const active = episode.status === "active";
  const plan = carePlanFor(episode, found.CarePlan);
  const decision = decisionFor(episode, found.ServiceRequest, episodes);
  return {
    id: episode.id,
    name: serviceName(episode),
    active,
    status: active ? "active" : ENDED.has(episode.status) ? "ended" : "other",
    statusLabel: EPISODE_STATUS[episode.status] || "Ukjent status",
    since: formatDate(period.start),
    ended: formatDate(period.end),
    startKey: dateKey(period.start),
    unit: unitOf(episode.managingOrganization, organizations),
    careManager: practitionerName(episode.careManager, practitioners),
    carePlan: plan && {
      title: plan.title || null,
      description: plan.description || null,
      statusLabel: REQUEST_STATUS[plan.status] || null,
    },
    decision: decision && {
      text: codeText(decision.code) || "Vedtak",
      statusLabel: REQUEST_STATUS[decision.status] || null,
      authored: formatDate(decision.authoredOn),
      requester: practitionerName(decision.requester, practitioners),
    },
  };
}

function unitOf(reference, organizations) {
  const organization = organizations.get(referenceId(reference, "Organization"));
  if (!organization) {
    // The reference's own display, when it has one, is better than nothing.
    return { name: reference?.display || UNKNOWN_UNIT, known: false, phone: null, email: null };
  }
  const phone = contact(organization.telecom, "phone");
  const email = contact(organization.telecom, "email");
  return {
    name: organization.name || UNKNOWN_UNIT,
    known: true,
    phone: phone && { text: phone, href: `tel:${phone.replace(/[^+\d]/g, "")}` },
    email: email && { text: email, href: `mailto:${email}` },
  };
}

/** The first work contact point of `system` (else the first of any use), or null. */
function contact(telecom, system) {
  const points = (telecom || []).filter(
    (point) => point.system === system && typeof point.value === "string" && point.value.trim(),
  );
  const chosen = points.find((point) => point.use === "work") || points[0];
  return chosen ? chosen.value.trim() : null;
}

function practitionerName(reference, practitioners) {
  const practitioner = practitioners.get(referenceId(reference, "Practitioner"));
  return (practitioner && personName(practitioner)) || reference?.display || null;
}

/** The care plan that refers to the episode; the active one, then the newest, if several. */
function carePlanFor(episode, plans) {
  const refersToEpisode = (plan) =>
    plan.status !== "entered-in-error" &&
    (plan.supportingInfo || []).some(
      (info) => referenceId(info, "EpisodeOfCare") === episode.id,
    );
  const rank = (plan) => (plan.status === "active" ? 0 : 1);
  return (
    plans
      .filter(refersToEpisode)
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          dateKey(b.period?.start).localeCompare(dateKey(a.period?.start)),
      )[0] || null
  );
}

// --- Ordering ----------------------------------------------------------------------------

/** Active first, then by start, newest first (an unknown start last), then by name. */
function compareServices(a, b) {
  if (a.active !== b.active) {
    return a.active ? -1 : 1;
  }
  if (a.startKey !== b.startKey) {
    if (!a.startKey || !b.startKey) {
      return a.startKey ? -1 : 1;
    }
    return b.startKey.localeCompare(a.startKey);
  }
  return a.name.localeCompare(b.name, "nb");
}

/** How far a request's authoredOn lies from the start: before it ranks above after it. */
function closeness(request, start) {
  const authored = dateKey(request.authoredOn);
  if (!authored || !start) {
    return Number.MAX_SAFE_INTEGER;
  }
  const days = (Date.parse(start) - Date.parse(authored)) / 86_400_000;
  // Half a million days is more than any two real dates lie apart: every "after" ranks below
  // every "before".
  return days >= 0 ? days : 500_000 - days;
}

// --- Helpers -----------------------------------------------------------------------------

const TYPES = ["EpisodeOfCare", "CarePlan", "ServiceRequest", "Organization", "Practitioner"];

function byType(resources) {
  const found = Object.fromEntries(TYPES.map((type) => [type, []]));
  for (const resource of resources || []) {
    if (resource && found[resource.resourceType]) {
      found[resource.resourceType].push(resource);
    }
  }
  found.EpisodeOfCare = found.EpisodeOfCare.filter(
    (episode) => episode.status !== "entered-in-error",
  );
  return found;
}

function byId(resources) {
  return new Map(resources.map((resource) => [resource.id, resource]));
}

function codeText(concept) {
  if (!concept) {
    return "";
  }
  const coding = (concept.coding || []).find((c) => c.display);
  return (concept.text || coding?.display || "").trim();
}

/** The YYYY-MM-DD part of a FHIR date or dateTime (sorts as text), or "" when there is none. */
function dateKey(value) {
  const match = typeof value === "string" ? value.match(/^\d{4}(-\d{2}(-\d{2})?)?/) : null;
  return match ? match[0] : "";
}
