// FHIR R4 vital-sign Observations as NEWS2 readings (see news2.mjs). Pure: it maps JSON
// already read, as gateway/synthetic.py writes it: LOINC codes, UCUM units, the blood pressure
// panel with a systolic component, oxygen as a flow in L/min and ACVPU as a letter in text.

export const LOINC = "http://loinc.org";

// The LOINC code of each observation the scorer reads, and the parameter it gives.
const CODES = Object.freeze({
  "9279-1": "respirationRate",
  "2708-6": "spo2",
  "59408-5": "spo2", // SpO2 by pulse oximetry; the vital-signs profile carries both codes
  "3151-8": "airOrOxygen", // inhaled oxygen flow rate, 0 on room air
  "8480-6": "systolicBP", // standalone, or a component of the panel below
  "8867-4": "pulse",
  "67775-7": "consciousness", // level of responsiveness, ACVPU
  "8310-5": "temperature",
});
const BLOOD_PRESSURE_PANEL = "85354-9";
const SYSTOLIC = "8480-6";

// The UCUM codes each quantity may come in: the scorer compares numbers, so a value in any
// other unit (°F, kPa) must not reach it as if it were in these.
const UNITS = Object.freeze({
  respirationRate: ["/min", "{breaths}/min"],
  spo2: ["%"],
  airOrOxygen: ["L/min"],
  systolicBP: ["mm[Hg]"],
  pulse: ["/min", "{beats}/min"],
  temperature: ["Cel"],
});

// Statuses whose value stands. entered-in-error and cancelled observations never happened;
// registered ones have no result yet.
const USABLE_STATUSES = new Set(["final", "amended", "corrected", "preliminary"]);

/**
 * The NEWS2 readings in `resources` (Observations, in any order; other resources are
 * skipped): `[{parameter, value, unit, time, id}]`.
 *
 * An Observation gives no reading when its status is not final, amended, corrected or
 * preliminary, when no LOINC code of it is one NEWS2 reads, or when it has no effective
 * date-time (effectiveDateTime, or effectiveInstant). It gives a reading with `value` null
 * (which the scorer reports as invalid) when its value is absent or in another unit, so the
 * page can say a measurement exists but cannot be scored. Consciousness is the ACVPU letter,
 * trimmed and upper-cased; any other text is kept so (and is invalid to the scorer).
 */
export function readingsFrom(resources) {
  const readings = [];
  for (const resource of resources) {
    if (resource?.resourceType !== "Observation" || !USABLE_STATUSES.has(resource.status)) {
      continue;
    }
    const time = resource.effectiveDateTime ?? resource.effectiveInstant;
    if (typeof time !== "string") continue;
    const reading = readingOf(resource);
    if (reading) readings.push({ ...reading, time, id: resource.id ?? null });
  }
  return readings;
}

/** `{parameter, value, unit}` of one Observation, or null when NEWS2 does not read it. */
function readingOf(observation) {
  const codes = loincCodes(observation.code);
  if (codes.includes(BLOOD_PRESSURE_PANEL)) {
    const systolic = (observation.component ?? []).find((c) =>
      loincCodes(c.code).includes(SYSTOLIC),
    );
    return systolic ? quantity("systolicBP", systolic.valueQuantity) : null;
  }
  const parameter = codes.map((code) => CODES[code]).find(Boolean);
  if (!parameter) return null;
  if (parameter === "consciousness") {
    const text = observation.valueCodeableConcept?.text;
    const letter = typeof text === "string" ? text.trim().toUpperCase() : null;
    return { parameter, value: letter || null, unit: null };
  }
  return quantity(parameter, observation.valueQuantity);
}

/** A reading of a Quantity; its value null unless it is a number in a unit we accept. */
function quantity(parameter, value) {
  const unit = value?.code ?? value?.unit ?? null;
  const accepted = typeof value?.value === "number" && UNITS[parameter].includes(unit);
  return { parameter, value: accepted ? value.value : null, unit: value?.unit ?? unit };
}

/** The LOINC codes of a CodeableConcept. */
function loincCodes(concept) {
  return (concept?.coding ?? [])
    .filter((coding) => coding.system === LOINC)
    .map((coding) => coding.code);
}
