// NEWS2 (National Early Warning Score 2) as the Royal College of Physicians' chart (2017)
// scores it. Pure: no DOM, no FHIR client, no clock; node tests it and the page imports it.
//
// A reading is `{parameter, value, time}`: `parameter` one of PARAMETERS, `time` an ISO 8601
// date-time (FHIR effectiveDateTime), and `value`
// - respirationRate: breaths per minute; pulse: beats per minute; systolicBP: mm Hg;
// - spo2: per cent; temperature: degrees Celsius;
// - airOrOxygen: the inhaled oxygen flow in L/min, 0 on room air (NEWS2 asks only whether
//   the patient is given oxygen: any flow above 0 is oxygen);
// - consciousness: the ACVPU letter "A", "C" (new confusion), "V", "P" or "U".
//
// Values between the chart's bands: the chart records respiration, SpO2, blood pressure and
// pulse in whole numbers and temperature to one decimal, so a value is first rounded to that
// precision, half away from zero, as the decimal number it is written as (11.5 -> 12 scores
// 0; 11.4 -> 11 scores 1; 36.05 -> 36.1 scores 0; 35.04 -> 35.0 scores 3). Rounding on the
// decimal text, not the binary float, keeps 36.05 from becoming 36.0 by float error.

/** The seven NEWS2 parameters, in the chart's order. */
export const PARAMETERS = Object.freeze([
  "respirationRate",
  "spo2",
  "airOrOxygen",
  "systolicBP",
  "pulse",
  "consciousness",
  "temperature",
]);

/** Each parameter's name in bokmål. */
export const LABELS = Object.freeze({
  respirationRate: "Respirasjonsfrekvens",
  spo2: "Oksygenmetning (SpO₂)",
  airOrOxygen: "Luft eller oksygen",
  systolicBP: "Systolisk blodtrykk",
  pulse: "Puls",
  consciousness: "Bevissthet (ACVPU)",
  temperature: "Temperatur",
});

/** The ACVPU letters: A scores 0; new confusion (C), V, P and U score 3. */
export const ACVPU = Object.freeze(["A", "C", "V", "P", "U"]);

/** The default freshness window: a reading older than this before the reference is stale. */
export const DEFAULT_MAX_AGE_HOURS = 24;

const HOUR_MS = 3_600_000;

// Decimals each parameter is recorded to on the chart (see the rounding note above).
const CHART_DECIMALS = { respirationRate: 0, spo2: 0, systolicBP: 0, pulse: 0, temperature: 1 };

/**
 * `value` rounded to `decimals` places, half away from zero, as written in decimal.
 * `roundToChart(36.05, 1)` is 36.1 although the float 36.05 lies just below 36.05.
 */
export function roundToChart(value, decimals) {
  const sign = value < 0 ? -1 : 1;
  // Shifting the decimal point in the number's own text is exact; multiplying is not.
  // The text may have an exponent already (1e-7, 1e+21): add to it.
  const [digits, exponent = "0"] = String(Math.abs(value)).split("e");
  const shifted = Number(`${digits}e${Number(exponent) + decimals}`);
  return (sign * Math.round(shifted)) / 10 ** decimals;
}

/** The first band whose upper bound `value` does not exceed: `bands` is [[upTo, score], ...]. */
function band(value, bands, above) {
  for (const [upTo, score] of bands) {
    if (value <= upTo) return score;
  }
  return above;
}

function requireNumber(value, name) {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name}: ${value} is not a measurement`);
  }
}

/** Respiration rate per minute: ≤8 → 3, 9–11 → 1, 12–20 → 0, 21–24 → 2, ≥25 → 3. */
export function scoreRespirationRate(rate) {
  requireNumber(rate, "respirationRate");
  return band(
    roundToChart(rate, 0),
    [
      [8, 3],
      [11, 1],
      [20, 0],
      [24, 2],
    ],
    3,
  );
}

/** SpO2 scale 1 (%): ≤91 → 3, 92–93 → 2, 94–95 → 1, ≥96 → 0. */
export function scoreSpo2Scale1(spo2) {
  requireSpo2(spo2);
  return band(
    roundToChart(spo2, 0),
    [
      [91, 3],
      [93, 2],
      [95, 1],
    ],
    0,
  );
}

/**
 * SpO2 scale 2 (%), for hypercapnic respiratory failure when a clinician has prescribed it:
 * ≤83 → 3, 84–85 → 2, 86–87 → 1, 88–92 → 0, ≥93 on air → 0; on oxygen 93–94 → 1,
 * 95–96 → 2, ≥97 → 3 (too much oxygen is the danger on this scale).
 */
export function scoreSpo2Scale2(spo2, onOxygen) {
  requireSpo2(spo2);
  const rounded = roundToChart(spo2, 0);
  if (rounded <= 92 || !onOxygen) {
    return band(
      rounded,
      [
        [83, 3],
        [85, 2],
        [87, 1],
      ],
      0,
    );
  }
  return band(
    rounded,
    [
      [94, 1],
      [96, 2],
    ],
    3,
  );
}

function requireSpo2(spo2) {
  requireNumber(spo2, "spo2");
  if (spo2 > 100) throw new RangeError(`spo2: ${spo2} is above 100 %`);
}

/** Air or oxygen: oxygen → 2, air → 0. */
export function scoreAirOrOxygen(onOxygen) {
  if (typeof onOxygen !== "boolean") throw new RangeError(`airOrOxygen: ${onOxygen}`);
  return onOxygen ? 2 : 0;
}

/** Systolic blood pressure (mm Hg): ≤90 → 3, 91–100 → 2, 101–110 → 1, 111–219 → 0, ≥220 → 3. */
export function scoreSystolicBP(systolic) {
  requireNumber(systolic, "systolicBP");
  return band(
    roundToChart(systolic, 0),
    [
      [90, 3],
      [100, 2],
      [110, 1],
      [219, 0],
    ],
    3,
  );
}

/** Pulse per minute: ≤40 → 3, 41–50 → 1, 51–90 → 0, 91–110 → 1, 111–130 → 2, ≥131 → 3. */
export function scorePulse(pulse) {
  requireNumber(pulse, "pulse");
  return band(
    roundToChart(pulse, 0),
    [
      [40, 3],
      [50, 1],
      [90, 0],
      [110, 1],
      [130, 2],
    ],
    3,
  );
}

/** Consciousness (ACVPU): A → 0; new confusion (C), V, P or U → 3. */
export function scoreConsciousness(letter) {
  if (!ACVPU.includes(letter)) throw new RangeError(`consciousness: ${letter} is not ACVPU`);
  return letter === "A" ? 0 : 3;
}

/** Temperature (°C): ≤35.0 → 3, 35.1–36.0 → 1, 36.1–38.0 → 0, 38.1–39.0 → 1, ≥39.1 → 2. */
export function scoreTemperature(celsius) {
  requireNumber(celsius, "temperature");
  return band(
    roundToChart(celsius, 1),
    [
      [35.0, 3],
      [36.0, 1],
      [38.0, 0],
      [39.0, 1],
    ],
    2,
  );
}

/** Whether `value` is a measurement the chart can score for `parameter`. */
export function isValidValue(parameter, value) {
  if (parameter === "consciousness") return ACVPU.includes(value);
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return false;
  return parameter !== "spo2" || value <= 100;
}

/** The value as the chart reads it: rounded to the chart's precision; oxygen as a boolean. */
function chartValue(parameter, value) {
  if (parameter === "airOrOxygen") return value > 0;
  if (parameter === "consciousness") return value;
  return roundToChart(value, CHART_DECIMALS[parameter]);
}

/** One parameter's score; `values` holds every parameter's chart value (scale 2 needs O2). */
function scoreParameter(parameter, values, scale) {
  const value = values[parameter];
  switch (parameter) {
    case "respirationRate":
      return scoreRespirationRate(value);
    case "spo2":
      return scale === 2 ? scoreSpo2Scale2(value, values.airOrOxygen) : scoreSpo2Scale1(value);
    case "airOrOxygen":
      return scoreAirOrOxygen(value);
    case "systolicBP":
      return scoreSystolicBP(value);
    case "pulse":
      return scorePulse(value);
    case "consciousness":
      return scoreConsciousness(value);
    case "temperature":
      return scoreTemperature(value);
    default:
      throw new RangeError(`unknown parameter ${parameter}`);
  }
}

// The clinical response bands, with the chart's response in bokmål. The chart's 0 and 1–4
// are both "low"; they differ in how often to monitor and what to do.
const ROUTINE = Object.freeze({
  key: "low",
  label: "Lav",
  monitoring: "Minimum hver 12. time",
  response: "Fortsett rutinemessig NEWS2-overvåking.",
});
const LOW = Object.freeze({
  key: "low",
  label: "Lav",
  monitoring: "Minimum hver 4.–6. time",
  response:
    "Informer sykepleier, som skal vurdere pasienten og avgjøre om det trengs hyppigere " +
    "målinger eller eskalering.",
});
const LOW_MEDIUM = Object.freeze({
  key: "low-medium",
  label: "Lav–middels",
  monitoring: "Minimum hver time",
  response:
    "Haster: sykepleier informerer ansvarlig lege, som vurderer pasienten og avgjør om det " +
    "trengs eskalering.",
});
const MEDIUM = Object.freeze({
  key: "medium",
  label: "Middels",
  monitoring: "Minimum hver time",
  response:
    "Haster: sykepleier informerer straks ansvarlig lege og ber om rask vurdering av " +
    "kliniker med kompetanse på akutt syke pasienter. Behandling der pasienten kan overvåkes.",
});
const HIGH = Object.freeze({
  key: "high",
  label: "Høy",
  monitoring: "Kontinuerlig overvåking",
  response:
    "Akutt: sykepleier informerer straks ansvarlig lege. Akutt vurdering av team med " +
    "intensivkompetanse; vurder overflytting til intermediær- eller intensivenhet.",
});

/**
 * The clinical risk band of an aggregate score: `{key, label, monitoring, response}`.
 * ≥7 → high; 5–6 → medium; a 3 in any one parameter (total < 5) → low-medium; 0–4 → low.
 */
export function clinicalRisk(total, anySingleThree) {
  if (total >= 7) return HIGH;
  if (total >= 5) return MEDIUM;
  if (anySingleThree) return LOW_MEDIUM;
  return total === 0 ? ROUTINE : LOW;
}

/** Milliseconds since the epoch of a reading's time, or NaN when it has none we can read. */
function timeOf(reading) {
  return typeof reading.time === "string" ? Date.parse(reading.time) : Number.NaN;
}

/**
 * NEWS2 from the latest reading of each parameter.
 *
 * Options: `scale` 1 (default) or 2 for SpO2; `maxAgeHours` (default 24), the freshness
 * window; `now`, the reference time (ms or ISO string) readings must be fresh at, by default
 * the newest reading's time. Readings with no readable time are left out.
 *
 * Returns `{complete, total, risk, parameters, missing, stale, invalid, reference, scale}`:
 * `parameters` has one row per PARAMETERS entry, `{parameter, label, reading, value, score,
 * status}` with status "ok", "missing", "stale", "invalid" (the latest reading cannot be
 * scored: an older one is not used in its place) or, for SpO2 on scale 2 without a usable
 * air-or-oxygen reading, "needs-oxygen". `value` and `score` are set only for "ok" rows.
 * `total` and `risk` are null unless all seven are "ok": a partial sum would look like a low
 * score. `missing`, `stale` and `invalid` list the parameters of those statuses.
 */
export function scoreNews2(readings, options = {}) {
  const scale = options.scale ?? 1;
  if (scale !== 1 && scale !== 2) throw new RangeError(`scale ${scale} is not 1 or 2`);
  const maxAgeMs = (options.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS) * HOUR_MS;
  const latest = latestByParameter(readings);
  const times = [...latest.values()].map(timeOf);
  const reference = referenceTime(options.now, times);

  const status = {};
  const values = {};
  for (const parameter of PARAMETERS) {
    const reading = latest.get(parameter);
    if (!reading) status[parameter] = "missing";
    else if (reference - timeOf(reading) > maxAgeMs) status[parameter] = "stale";
    else if (!isValidValue(parameter, reading.value)) status[parameter] = "invalid";
    else {
      status[parameter] = "ok";
      values[parameter] = chartValue(parameter, reading.value);
    }
  }
  // Scale 2 scores SpO2 by air or oxygen: without a usable oxygen reading it cannot be scored.
  if (scale === 2 && status.spo2 === "ok" && status.airOrOxygen !== "ok") {
    status.spo2 = "needs-oxygen";
    delete values.spo2;
  }

  const parameters = PARAMETERS.map((parameter) => {
    const ok = status[parameter] === "ok";
    return {
      parameter,
      label: LABELS[parameter],
      reading: latest.get(parameter) ?? null,
      value: ok ? values[parameter] : null,
      score: ok ? scoreParameter(parameter, values, scale) : null,
      status: status[parameter],
    };
  });
  const having = (wanted) => PARAMETERS.filter((p) => status[p] === wanted);
  const complete = parameters.every((row) => row.status === "ok");
  const total = complete ? parameters.reduce((sum, row) => sum + row.score, 0) : null;
  const anySingleThree = parameters.some((row) => row.score === 3);
  return {
    complete,
    total,
    risk: complete ? clinicalRisk(total, anySingleThree) : null,
    parameters,
    missing: having("missing"),
    stale: having("stale"),
    invalid: having("invalid"),
    reference,
    scale,
  };
}

/** The time readings must be fresh at, in ms: `now` if given, else the newest reading's. */
function referenceTime(now, times) {
  if (now === undefined) return times.length ? Math.max(...times) : null;
  const reference = typeof now === "string" ? Date.parse(now) : now;
  if (!Number.isFinite(reference)) throw new RangeError(`now: ${now} is not a time`);
  return reference;
}

/** The newest reading of each parameter (the first given wins a tie), by parameter. */
function latestByParameter(readings) {
  const latest = new Map();
  for (const reading of readings) {
    const time = timeOf(reading);
    if (Number.isNaN(time) || !PARAMETERS.includes(reading.parameter)) continue;
    const known = latest.get(reading.parameter);
    if (!known || time > timeOf(known)) latest.set(reading.parameter, reading);
  }
  return latest;
}

/**
 * The readings grouped into measurement rounds, one per distinct time (compared as instants,
 * so "…Z" and "…+00:00" are one round), oldest first: `[{time, readings}]` with `time` in ms.
 */
export function groupRounds(readings) {
  const rounds = new Map();
  for (const reading of readings) {
    const time = timeOf(reading);
    if (Number.isNaN(time)) continue;
    if (!rounds.has(time)) rounds.set(time, []);
    rounds.get(time).push(reading);
  }
  return [...rounds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([time, grouped]) => ({ time, readings: grouped }));
}

/**
 * Every round scored, oldest first: `[{time, result}]`, `result` as scoreNews2 gives it for
 * that round's readings alone (so a round missing a parameter has no total). Options: `scale`.
 */
export function scoreRounds(readings, options = {}) {
  return groupRounds(readings).map(({ time, readings: round }) => ({
    time,
    result: scoreNews2(round, { scale: options.scale }),
  }));
}
