// The page after the launch: completes the SMART authorization, reads the patient's vital
// signs and shows NEWS2. DOM only; the scoring (news2.mjs), the FHIR mapping (vitals.mjs)
// and the texts (display.mjs) are pure modules that node tests.
import {
  formatDateTime,
  formatNumber,
  incompleteMessage,
  patientBanner,
  statusText,
  trendGeometry,
  valueText,
} from "./display.mjs";
import { DEFAULT_MAX_AGE_HOURS, scoreNews2, scoreRounds } from "./news2.mjs";
import { readingsFrom } from "./vitals.mjs";

const TREND_ROUNDS = 12; // the last rounds the chart shows
const SVG = "http://www.w3.org/2000/svg";
const CHART = { width: 640, height: 220, margin: 32 };

const $ = (id) => document.getElementById(id);

function showStatus(text, { error = false } = {}) {
  const status = $("status");
  status.textContent = text;
  status.hidden = false;
  status.className = error ? "error" : "";
  status.setAttribute("role", error ? "alert" : "status");
}

/**
 * config.json's settings for the page: `maxAgeHours`, the freshness window, and `now`, an
 * ISO time to judge freshness at instead of the clock (demo data is dated back from a fixed
 * day). A missing or unreadable config.json leaves the defaults.
 */
async function loadSettings() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    const config = response.ok ? await response.json() : {};
    return { maxAgeHours: config.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS, now: config.now };
  } catch {
    return { maxAgeHours: DEFAULT_MAX_AGE_HOURS, now: undefined };
  }
}

/** The bokmål message for a failed FHIR request. */
function requestFailure(error) {
  const status = error?.status ?? error?.statusCode;
  if (status === 401 || status === 403) {
    // The municipality disabled the app, or the grant was withdrawn or expired.
    return "Appen har ikke lenger tilgang. Kontakt kommunens administrator av Torget.";
  }
  return "Kunne ikke hente vitale parametere fra journalen. Prøv igjen senere.";
}

function showBanner(patient) {
  const banner = patientBanner(patient);
  $("banner-name").textContent = banner.name || "Ukjent navn";
  $("banner-birth").textContent = banner.birthDate || "ukjent";
  $("banner-fnr").textContent = banner.fnr || "ukjent";
  $("banner").hidden = false;
}

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function renderRows(result) {
  const rows = result.parameters.map((row) => {
    const tr = document.createElement("tr");
    const label = cell("th", row.label);
    label.scope = "row";
    tr.append(
      label,
      cell("td", valueText(row.parameter, row.reading)),
      cell("td", row.reading ? formatDateTime(row.reading.time) : "–"),
      row.score === null
        ? cell("td", statusText(row.status), "status")
        : cell("td", String(row.score), `score score-${row.score}`),
    );
    return tr;
  });
  $("rows").replaceChildren(...rows);
}

function renderResult(result, maxAgeHours) {
  const risk = $("risk");
  const incomplete = $("incomplete");
  if (result.complete) {
    $("total").textContent = `Totalt ${result.total} poeng`;
    $("risk-label").textContent = `– ${result.risk.label} risiko`;
    $("risk-monitoring").textContent = result.risk.monitoring;
    $("risk-response").textContent = result.risk.response;
    risk.className = `risk risk-${result.risk.key}${result.total === 0 ? " risk-zero" : ""}`;
    risk.hidden = false;
    incomplete.hidden = true;
  } else {
    // No total at all: a partial sum would look like a reassuringly low score.
    risk.hidden = true;
    incomplete.textContent = incompleteMessage(result, maxAgeHours);
    incomplete.hidden = false;
  }
  $("reference").textContent = result.reference
    ? `Ferskhet vurdert per ${formatDateTime(result.reference)} ` +
      `(grense ${formatNumber(maxAgeHours)} timer).`
    : "";
}

function svg(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function renderTrend(rounds) {
  const recent = rounds.filter((round) => round.result.complete).slice(-TREND_ROUNDS);
  const skipped = rounds.length - rounds.filter((round) => round.result.complete).length;
  const container = $("trend");
  $("trend-note").textContent = [
    recent.length
      ? `De siste ${recent.length} fullstendige målerundene.`
      : "Ingen fullstendige målerunder å vise.",
    skipped ? `${skipped} målerunde(r) uten alle sju parametere er utelatt.` : "",
  ]
    .filter(Boolean)
    .join(" ");
  if (!recent.length) {
    container.replaceChildren();
    return;
  }
  const { points, ticks } = trendGeometry(recent, CHART);
  const { width, height, margin } = CHART;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    class: "trend-chart",
    "aria-label": `NEWS2 over tid: ${points.map((p) => p.total).join(", ")}`,
  });
  for (const tick of ticks) {
    chart.append(
      svg("line", {
        x1: margin,
        x2: width - margin,
        y1: tick.y,
        y2: tick.y,
        class: `tick tick-${tick.total}`,
      }),
      svg("text", { x: margin - 6, y: tick.y + 4, class: "tick-label" }, String(tick.total)),
    );
  }
  chart.append(
    svg("polyline", { points: points.map((p) => `${p.x},${p.y}`).join(" "), class: "trend-line" }),
  );
  for (const point of points) {
    const dot = svg("circle", { cx: point.x, cy: point.y, r: 5, class: `dot risk-${point.risk}` });
    dot.append(svg("title", {}, `${formatDateTime(point.time)}: ${point.total} poeng`));
    const label = svg("text", { x: point.x, y: point.y - 9, class: "dot-label" }, point.total);
    chart.append(dot, label);
  }
  const timeLabel = (point, end) => {
    const place = { x: point.x, y: height - 8, class: `time-label ${end}` };
    return svg("text", place, formatDateTime(point.time));
  };
  chart.append(timeLabel(points[0], "start"));
  if (points.length > 1) chart.append(timeLabel(points.at(-1), "end"));
  container.replaceChildren(chart);
}

async function main() {
  const settings = await loadSettings();
  let client;
  try {
    client = await FHIR.oauth2.ready();
  } catch (error) {
    console.error(error);
    showStatus("Oppstarten av appen mislyktes. Start appen på nytt fra journalsystemet.", {
      error: true,
    });
    return;
  }
  const patientId = client.patient.id;
  if (!patientId) {
    showStatus("Ingen pasient er valgt. Start appen fra en pasientjournal.", { error: true });
    return;
  }
  const needBanner = client.state.tokenResponse?.need_patient_banner === true;
  let patient;
  let observations;
  try {
    [patient, observations] = await Promise.all([
      needBanner ? client.patient.read() : null,
      client.request(
        `Observation?patient=${encodeURIComponent(patientId)}` +
          "&category=vital-signs&_sort=-date&_count=100",
        { pageLimit: 0, flat: true },
      ),
    ]);
  } catch (error) {
    console.error(error);
    showStatus(requestFailure(error), { error: true });
    return;
  }
  if (patient) showBanner(patient);
  const readings = readingsFrom(observations);

  const render = () => {
    const scale = $("scale2").checked ? 2 : 1;
    const now = settings.now ?? Date.now();
    const result = scoreNews2(readings, { scale, maxAgeHours: settings.maxAgeHours, now });
    renderResult(result, settings.maxAgeHours);
    renderRows(result);
    renderTrend(scoreRounds(readings, { scale }));
  };
  $("scale2").addEventListener("change", render);
  render();
  $("status").hidden = true;
  $("content").hidden = false;
}

main();
