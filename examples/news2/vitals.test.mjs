// FHIR Observations, as gateway/synthetic.py writes them, mapped to NEWS2 readings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { scoreNews2 } from "./news2.mjs";
import { readingsFrom } from "./vitals.mjs";

const LOINC = "http://loinc.org";
const UCUM = "http://unitsofmeasure.org";
const AT = "2026-11-02T06:00:00Z";

/** A vital-signs Observation shaped like gateway/synthetic.py's. */
function observation(id, codes, value, extra = {}) {
  return {
    resourceType: "Observation",
    id,
    status: "final",
    category: [
      {
        coding: [
          {
            system: "http://terminology.hl7.org/CodeSystem/observation-category",
            code: "vital-signs",
          },
        ],
      },
    ],
    code: { coding: codes.map((code) => ({ system: LOINC, code })) },
    subject: { reference: "Patient/pas-oslo-001" },
    effectiveDateTime: AT,
    ...value,
    ...extra,
  };
}

function quantity(value, unit) {
  return { valueQuantity: { value, unit, system: UCUM, code: unit } };
}

function bloodPressure(id, systolic, diastolic) {
  return observation(id, ["85354-9"], {
    component: [
      { code: { coding: [{ system: LOINC, code: "8480-6" }] }, ...quantity(systolic, "mm[Hg]") },
      { code: { coding: [{ system: LOINC, code: "8462-4" }] }, ...quantity(diastolic, "mm[Hg]") },
    ],
  });
}

/** One full round of the seven NEWS2 observations. */
function fullRound() {
  return [
    observation("rr", ["9279-1"], quantity(16, "/min")),
    observation("spo2", ["2708-6", "59408-5"], quantity(97, "%")),
    observation("o2", ["3151-8"], quantity(0, "L/min")),
    bloodPressure("bp", 132, 84),
    observation("hr", ["8867-4"], quantity(72, "/min")),
    observation("acvpu", ["67775-7"], { valueCodeableConcept: { text: "A" } }),
    observation("temp", ["8310-5"], quantity(36.8, "Cel")),
  ];
}

const byParameter = (readings) => Object.fromEntries(readings.map((r) => [r.parameter, r]));

describe("readingsFrom maps each NEWS2 observation", () => {
  test("a full round gives one reading of each of the seven parameters", () => {
    const readings = byParameter(readingsFrom(fullRound()));
    assert.deepEqual(
      Object.fromEntries(Object.entries(readings).map(([p, r]) => [p, r.value])),
      {
        respirationRate: 16,
        spo2: 97,
        airOrOxygen: 0,
        systolicBP: 132,
        pulse: 72,
        consciousness: "A",
        temperature: 36.8,
      },
    );
    assert.equal(readings.pulse.time, AT);
    assert.equal(readings.pulse.id, "hr");
    assert.equal(readings.temperature.unit, "Cel");
  });

  test("the mapped round scores 0 in full", () => {
    const result = scoreNews2(readingsFrom(fullRound()));
    assert.equal(result.complete, true);
    assert.equal(result.total, 0);
  });

  test("the blood pressure panel gives its systolic component only", () => {
    const readings = readingsFrom([bloodPressure("bp", 88, 50)]);
    assert.deepEqual(
      readings.map((r) => [r.parameter, r.value, r.unit]),
      [["systolicBP", 88, "mm[Hg]"]],
    );
  });

  test("a panel without a systolic component gives nothing", () => {
    const panel = bloodPressure("bp", 120, 80);
    panel.component = panel.component.slice(1);
    assert.deepEqual(readingsFrom([panel]), []);
  });

  test("a standalone systolic observation is read too", () => {
    const readings = readingsFrom([observation("sys", ["8480-6"], quantity(101, "mm[Hg]"))]);
    assert.deepEqual(readings.map((r) => [r.parameter, r.value]), [["systolicBP", 101]]);
  });

  test("an oxygen flow of 0 is room air and a flow of 2 is oxygen", () => {
    const onAir = fullRound();
    const onOxygen = fullRound();
    onOxygen[2] = observation("o2", ["3151-8"], quantity(2, "L/min"));
    assert.equal(scoreNews2(readingsFrom(onAir)).total, 0);
    const result = scoreNews2(readingsFrom(onOxygen));
    assert.equal(result.total, 2);
    const oxygen = result.parameters.find((row) => row.parameter === "airOrOxygen");
    assert.equal(oxygen.reading.value, 2);
    assert.equal(oxygen.value, true);
  });

  test("SpO2 coded with either code alone is read", () => {
    const readings = readingsFrom([
      observation("a", ["59408-5"], quantity(95, "%")),
      observation("b", ["2708-6"], quantity(94, "%")),
    ]);
    assert.deepEqual(readings.map((r) => [r.parameter, r.value]), [["spo2", 95], ["spo2", 94]]);
  });

  test("the ACVPU letter is trimmed and upper-cased; other text is kept for the scorer", () => {
    const readings = readingsFrom([
      observation("c", ["67775-7"], { valueCodeableConcept: { text: " c " } }),
      observation("x", ["67775-7"], { valueCodeableConcept: { text: "Våken" } }),
      observation("none", ["67775-7"], { valueCodeableConcept: {} }),
    ]);
    assert.deepEqual(readings.map((r) => r.value), ["C", "VÅKEN", null]);
  });
});

describe("readingsFrom leaves out what NEWS2 must not read", () => {
  test("unknown codes, codes of other systems and other resources are ignored", () => {
    const readings = readingsFrom([
      observation("weight", ["29463-7"], quantity(70, "kg")),
      {
        ...observation("hr", [], quantity(72, "/min")),
        code: { coding: [{ system: "urn:local", code: "8867-4" }] },
      },
      { resourceType: "Patient", id: "pas-oslo-001" },
      { resourceType: "OperationOutcome", issue: [] },
    ]);
    assert.deepEqual(readings, []);
  });

  test("entered-in-error, cancelled and registered observations are ignored", () => {
    const readings = readingsFrom(
      ["entered-in-error", "cancelled", "registered", "unknown"].map((status) =>
        observation(status, ["8867-4"], quantity(140, "/min"), { status }),
      ),
    );
    assert.deepEqual(readings, []);
  });

  test("amended, corrected and preliminary observations count", () => {
    const readings = readingsFrom(
      ["amended", "corrected", "preliminary"].map((status) =>
        observation(status, ["8867-4"], quantity(80, "/min"), { status }),
      ),
    );
    assert.equal(readings.length, 3);
  });

  test("an entered-in-error newer reading does not hide the valid older one", () => {
    const older = observation("old", ["8867-4"], quantity(72, "/min"), {
      effectiveDateTime: "2026-11-02T05:00:00Z",
    });
    const wrong = observation("new", ["8867-4"], quantity(150, "/min"), {
      status: "entered-in-error",
    });
    assert.deepEqual(readingsFrom([older, wrong]).map((r) => r.id), ["old"]);
  });

  test("an observation without an effective date-time is ignored; an instant is read", () => {
    const undated = observation("undated", ["8867-4"], quantity(72, "/min"));
    delete undated.effectiveDateTime;
    const instant = { ...undated, id: "instant", effectiveInstant: AT };
    assert.deepEqual(readingsFrom([undated, instant]).map((r) => r.id), ["instant"]);
  });

  test("a value in another unit or with no number is read as null: invalid to the scorer", () => {
    const readings = readingsFrom([
      observation("f", ["8310-5"], quantity(98.6, "[degF]")),
      observation("absent", ["8867-4"], { dataAbsentReason: { text: "Ikke målt" } }),
    ]);
    assert.deepEqual(readings.map((r) => [r.parameter, r.value, r.unit]), [
      ["temperature", null, "[degF]"],
      ["pulse", null, null],
    ]);
    const round = fullRound().filter((o) => o.id !== "temp");
    const fahrenheit = observation("f", ["8310-5"], quantity(98.6, "[degF]"));
    const result = scoreNews2(readingsFrom([...round, fahrenheit]));
    assert.deepEqual(result.invalid, ["temperature"]);
    assert.equal(result.total, null);
  });

  test("a quantity with only a unit text is accepted when the text is the UCUM code", () => {
    const bare = observation("rr", ["9279-1"], { valueQuantity: { value: 18, unit: "/min" } });
    assert.equal(readingsFrom([bare])[0].value, 18);
  });
});
