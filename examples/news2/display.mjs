// What the page says, in bokmål and Norwegian number and date formats, and where the trend
// chart puts its points. Pure: app.js turns these strings and numbers into DOM.

import { LABELS } from "./news2.mjs";

const FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"; // fødselsnummer
const TIME_ZONE = "Europe/Oslo";

const UNIT_TEXT = Object.freeze({
  respirationRate: "/min",
  spo2: "%",
  systolicBP: "mmHg",
  pulse: "/min",
  temperature: "°C",
});
const ACVPU_TEXT = Object.freeze({
  A: "A – våken",
  C: "C – ny forvirring",
  V: "V – reagerer på tiltale",
  P: "P – reagerer på smerte",
  U: "U – reagerer ikke",
});
const STATUS_TEXT = Object.freeze({
  ok: "",
  missing: "Mangler",
  stale: "Utdatert",
  invalid: "Ugyldig verdi",
  "needs-oxygen": "Kan ikke skåres på skala 2 uten måling av luft/oksygen",
});

/** `value` with a decimal comma and at most `maxDecimals` decimals: 36.8 -> "36,8". */
export function formatNumber(value, maxDecimals = 1) {
  return new Intl.NumberFormat("nb-NO", { maximumFractionDigits: maxDecimals }).format(value);
}

/** A time (ms or ISO string) in Norwegian time: "02.11.2026 kl. 07:00". */
export function formatDateTime(time) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("nb-NO", {
      timeZone: TIME_ZONE,
      day: "2-digit",
      month: "2-digit",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(time))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.day}.${parts.month}.${parts.year} kl. ${parts.hour}:${parts.minute}`;
}

/** A FHIR date "1943-05-12" as "12.05.1943"; a partial date as far as it goes. */
export function formatDate(date) {
  return date.split("-").reverse().join(".");
}

/** A fødselsnummer shown to its first 6 digits (the birth date): "120543*****". */
export function maskFnr(fnr) {
  return fnr.slice(0, 6) + "*".repeat(Math.max(fnr.length - 6, 0));
}

/** The patient banner of a FHIR Patient: `{name, birthDate, fnr}`, each "" when unknown. */
export function patientBanner(patient) {
  const names = patient.name ?? [];
  const name = names.find((n) => n.use === "official") ?? names[0] ?? {};
  const fnr = (patient.identifier ?? []).find((id) => id.system === FNR_SYSTEM)?.value;
  return {
    name: name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(" "),
    birthDate: patient.birthDate ? formatDate(patient.birthDate) : "",
    fnr: fnr ? maskFnr(fnr) : "",
  };
}

/** A reading's value as the table shows it: "36,8 °C", "Oksygen, 2 L/min", "A – våken". */
export function valueText(parameter, reading) {
  if (!reading) return "–";
  const value = reading.value;
  if (value === null || value === undefined) return "Ugyldig verdi";
  if (parameter === "consciousness") return ACVPU_TEXT[value] ?? String(value);
  if (typeof value !== "number") return String(value);
  if (parameter === "airOrOxygen") {
    return value > 0 ? `Oksygen, ${formatNumber(value)} L/min` : "Luft";
  }
  return `${formatNumber(value)} ${UNIT_TEXT[parameter]}`;
}

/** Why a row has no score: "Mangler", "Utdatert", ...; "" for a scored row. */
export function statusText(status) {
  return STATUS_TEXT[status];
}

/** `["Puls", "Temperatur"]` as "Puls og Temperatur". */
function list(items) {
  return new Intl.ListFormat("nb", { type: "conjunction" }).format(items);
}

/**
 * Why a result has no total, as sentences: which parameters are missing, stale (older than
 * `maxAgeHours`) or invalid. "" when the result is complete.
 */
export function incompleteMessage(result, maxAgeHours) {
  if (result.complete) return "";
  // Lower-case the first letter only: "SpO₂" and "ACVPU" keep their capitals.
  const lower = (label) => label[0].toLowerCase() + label.slice(1);
  const names = (parameters) => list(parameters.map((p) => lower(LABELS[p])));
  const sentences = ["NEWS2 kan ikke beregnes."];
  if (result.missing.length) sentences.push(`Mangler måling av ${names(result.missing)}.`);
  if (result.stale.length) {
    sentences.push(
      `Siste måling av ${names(result.stale)} er eldre enn ${formatNumber(maxAgeHours)} timer.`,
    );
  }
  if (result.invalid.length) sentences.push(`Ugyldig verdi for ${names(result.invalid)}.`);
  if (result.parameters.some((row) => row.status === "needs-oxygen")) {
    sentences.push("Skala 2 krever måling av luft/oksygen.");
  }
  return sentences.join(" ");
}

/**
 * Where the trend chart draws each scored round, in a `width` × `height` box with `margin`
 * on every side: `{points: [{x, y, total, time, risk}], yMax, ticks}`, oldest left; rounds
 * without a total are left out. The y axis runs from 0 to at least 7, so the emergency
 * threshold always shows; `ticks` mark 0 and the thresholds 5 and 7.
 */
export function trendGeometry(rounds, { width, height, margin }) {
  const scored = rounds.filter((round) => round.result.complete);
  const yMax = Math.max(7, ...scored.map((round) => round.result.total));
  const innerWidth = width - 2 * margin;
  const innerHeight = height - 2 * margin;
  const step = scored.length > 1 ? innerWidth / (scored.length - 1) : 0;
  const y = (total) => margin + innerHeight - (total / yMax) * innerHeight;
  return {
    points: scored.map((round, index) => ({
      x: scored.length > 1 ? margin + index * step : margin + innerWidth / 2,
      y: y(round.result.total),
      total: round.result.total,
      time: round.time,
      risk: round.result.risk.key,
    })),
    yMax,
    ticks: [0, 5, 7].map((total) => ({ total, y: y(total) })),
  };
}
