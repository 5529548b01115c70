// The page after the launch: FHIR.oauth2.ready(), then the patient's services read from the
// FHIR API and drawn as one card per service. The view model comes from services.mjs.
import { buildServiceOverview, missingPractitionerIds, summaryText } from "./services.mjs";
import { errorView, patientBanner } from "./smart.mjs";
import { element, showError } from "./ui.js";

const ALL_PAGES = { pageLimit: 0, flat: true };

async function main() {
  let client;
  try {
    client = await FHIR.oauth2.ready();
  } catch (error) {
    showError(errorView("launch", error), error);
    return;
  }
  const patientId = client.patient.id;
  if (!patientId) {
    showError(errorView("context"));
    return;
  }
  let read;
  try {
    const [, services] = await Promise.all([
      showBanner(client),
      readServices(client, encodeURIComponent(patientId)),
    ]);
    read = services;
  } catch (error) {
    showError(errorView("read", error), error);
    return;
  }
  render(buildServiceOverview(read.resources), read.missing);
}

/** The banner, only when the token response asks for one (the EHR does not show the patient). */
async function showBanner(client) {
  if (!(client.state.tokenResponse || {}).need_patient_banner) {
    return;
  }
  const banner = patientBanner(await client.patient.read());
  const parts = [element("strong", "banner__name", banner.name)];
  if (banner.birthDate) {
    parts.push(element("span", null, `Født ${banner.birthDate}`));
  }
  if (banner.identifier) {
    parts.push(element("span", null, `${banner.identifierLabel}: ${banner.identifier}`));
  }
  const box = document.getElementById("patient-banner");
  box.replaceChildren(...parts);
  box.hidden = false;
}

/**
 * The episodes with their units, the care plans, the decisions and the care managers. The
 * episodes are the services: without them nothing shows. Care plans and decisions add to
 * them: a refusal of just those (403, a scope not granted) leaves them out with a notice,
 * while a 401 means the token itself is gone.
 */
async function readServices(client, patient) {
  const [episodes, plans, requests] = await Promise.allSettled([
    client.request(
      `EpisodeOfCare?patient=${patient}&_include=EpisodeOfCare:organization&_count=100`,
      ALL_PAGES,
    ),
    client.request(`CarePlan?patient=${patient}&_count=100`, ALL_PAGES),
    client.request(`ServiceRequest?patient=${patient}&_count=100`, ALL_PAGES),
  ]);
  if (episodes.status === "rejected") {
    throw episodes.reason;
  }
  const missing = [];
  const resources = [...episodes.value];
  for (const [result, what] of [
    [plans, "tiltaksplaner"],
    [requests, "vedtak"],
  ]) {
    if (result.status === "fulfilled") {
      resources.push(...result.value);
    } else if (result.reason && result.reason.status === 401) {
      throw result.reason;
    } else {
      missing.push(what);
    }
  }
  // The gateway has no _include for careManager: read each Practitioner by id. One refused
  // or gone only costs its name (the reference's display, if any, stands in).
  const practitioners = await Promise.allSettled(
    missingPractitionerIds(resources).map((id) =>
      client.request(`Practitioner/${encodeURIComponent(id)}`),
    ),
  );
  for (const result of practitioners) {
    if (result.status === "fulfilled") {
      resources.push(result.value);
    }
  }
  return { resources, missing };
}

function render(overview, missing) {
  // The status line is the live region: it tells a screen reader the result, "no services"
  // included.
  const status = document.getElementById("status");
  status.textContent = summaryText(overview);
  status.classList.toggle("empty", overview.empty);
  if (missing.length > 0) {
    const notice = document.getElementById("notice");
    notice.textContent = `Kunne ikke hente ${missing.join(" og ")}: de vises ikke nedenfor.`;
    notice.hidden = false;
  }
  document.getElementById("services").replaceChildren(...overview.services.map(serviceCard));
}

function serviceCard(service) {
  const rows = [
    ["Enhet", unitText(service.unit)],
    ["Kontakt", contactLine(service.unit)],
    ["Fra", service.since],
    [service.status === "ended" ? "Avsluttet" : "Planlagt slutt", service.ended],
    ["Tjenesteansvarlig", service.careManager],
    ["Vedtak", decisionText(service.decision)],
    ["Tiltaksplan", carePlanText(service.carePlan)],
  ].filter(([, value]) => value);
  const details = element("dl", "service__details");
  for (const [term, value] of rows) {
    details.append(element("dt", null, term), element("dd", null, value));
  }
  const state = service.status;
  return element(
    "li",
    `service service--${state}`,
    element(
      "article",
      null,
      element(
        "header",
        "service__header",
        element("h2", "service__name", service.name),
        element("span", `badge badge--${state}`, service.statusLabel),
      ),
      details,
    ),
  );
}

function unitText(unit) {
  return unit.known ? unit.name : element("span", "unknown", unit.name);
}

/** The unit's phone and e-mail as links, or null: no telecom, no contact line. */
function contactLine(unit) {
  const links = [unit.phone, unit.email].filter(Boolean).map((point) => {
    const link = element("a", null, point.text);
    link.href = point.href;
    return link;
  });
  if (links.length === 0) {
    return null;
  }
  const line = element("span", "contact");
  links.forEach((link, index) => line.append(...(index ? [" · ", link] : [link])));
  return line;
}

function decisionText(decision) {
  if (!decision) {
    return null;
  }
  const parts = [decision.authored && `fattet ${decision.authored}`, decision.statusLabel];
  const by = decision.requester ? ` Henvist av ${decision.requester}.` : "";
  const extra = parts.filter(Boolean).join(", ");
  return `${decision.text}${extra ? ` (${extra})` : ""}.${by}`;
}

function carePlanText(plan) {
  if (!plan) {
    return null;
  }
  const box = element("span", "care-plan");
  if (plan.title) {
    box.append(element("strong", null, plan.title));
  }
  if (plan.description) {
    box.append(element("span", "care-plan__description", plan.description));
  }
  return box.childNodes.length > 0 ? box : null;
}

main();
