// The page's texts and the trend chart's geometry.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  formatDate,
  formatDateTime,
  formatNumber,
  incompleteMessage,
  maskFnr,
  patientBanner,
  trendGeometry,
  valueText,
} from "./display.mjs";
import { scoreNews2, scoreRounds } from "./news2.mjs";

describe("Norwegian formats", () => {
  test("numbers have a decimal comma", () => {
    assert.equal(formatNumber(36.8), "36,8");
    assert.equal(formatNumber(38), "38");
    assert.equal(formatNumber(1.25, 2), "1,25");
  });

  test("times are shown in Norwegian time, summer and winter", () => {
    assert.equal(formatDateTime("2026-11-02T06:00:00Z"), "02.11.2026 kl. 07:00");
    assert.equal(formatDateTime("2026-07-01T22:30:00Z"), "02.07.2026 kl. 00:30");
  });

  test("a FHIR date is day, month, year", () => {
    assert.equal(formatDate("1943-05-12"), "12.05.1943");
  });
});

describe("the patient banner", () => {
  test("shows the name, the birth date and the fødselsnummer masked to its first 6 digits", () => {
    const banner = patientBanner({
      resourceType: "Patient",
      name: [{ use: "official", family: "Nordmann", given: ["Kari", "Marie"] }],
      birthDate: "1943-05-12",
      identifier: [
        { system: "urn:oid:2.16.578.1.12.4.1.4.4", value: "1234567" },
        { system: "urn:oid:2.16.578.1.12.4.1.4.1", value: "12054312345" },
      ],
    });
    assert.deepEqual(banner, {
      name: "Kari Marie Nordmann",
      birthDate: "12.05.1943",
      fnr: "120543*****",
    });
  });

  test("a patient without name, birth date or fødselsnummer gets empty fields", () => {
    const banner = patientBanner({ resourceType: "Patient" });
    assert.deepEqual(banner, { name: "", birthDate: "", fnr: "" });
  });

  test("masking never shows more than 6 digits", () => {
    assert.equal(maskFnr("12054312345"), "120543*****");
    assert.equal(maskFnr("1205"), "1205");
  });
});

describe("value texts", () => {
  test("each parameter reads with its unit, oxygen as air or a flow, ACVPU in words", () => {
    assert.equal(valueText("temperature", { value: 36.8 }), "36,8 °C");
    assert.equal(valueText("systolicBP", { value: 132 }), "132 mmHg");
    assert.equal(valueText("airOrOxygen", { value: 0 }), "Luft");
    assert.equal(valueText("airOrOxygen", { value: 2.5 }), "Oksygen, 2,5 L/min");
    assert.equal(valueText("consciousness", { value: "C" }), "C – ny forvirring");
  });

  test("no reading is a dash and a reading without a usable value says so", () => {
    assert.equal(valueText("pulse", null), "–");
    assert.equal(valueText("pulse", { value: null }), "Ugyldig verdi");
  });
});

const AT = "2026-11-02T06:00:00Z";
const FULL = {
  respirationRate: 16,
  spo2: 97,
  airOrOxygen: 0,
  systolicBP: 130,
  pulse: 72,
  consciousness: "A",
  temperature: 36.8,
};
const readings = (time, values) =>
  Object.entries({ ...FULL, ...values })
    .filter(([, value]) => value !== undefined)
    .map(([parameter, value]) => ({ parameter, value, time }));

describe("the message instead of a total", () => {
  test("names the missing, stale and invalid parameters", () => {
    const result = scoreNews2([
      ...readings(AT, { pulse: undefined, systolicBP: undefined, temperature: undefined }).filter(
        (reading) => reading.parameter !== "spo2",
      ),
      { parameter: "spo2", value: 120, time: AT },
      { parameter: "temperature", value: 36.8, time: "2026-10-30T06:00:00Z" },
    ]);
    assert.equal(
      incompleteMessage(result, 24),
      "NEWS2 kan ikke beregnes. Mangler måling av systolisk blodtrykk og puls. " +
        "Siste måling av temperatur er eldre enn 24 timer. " +
        "Ugyldig verdi for oksygenmetning (SpO₂).",
    );
  });

  test("is empty when the score is complete", () => {
    assert.equal(incompleteMessage(scoreNews2(readings(AT, {})), 24), "");
  });
});

describe("the trend chart geometry", () => {
  const box = { width: 220, height: 120, margin: 10 };

  test("places complete rounds left to right, higher totals higher, skipping the rest", () => {
    const rounds = scoreRounds([
      ...readings("2026-11-01T06:00:00Z", {}),
      ...readings("2026-11-01T12:00:00Z", { pulse: undefined }),
      ...readings("2026-11-01T18:00:00Z", { respirationRate: 22 }),
      ...readings(AT, { respirationRate: 26, consciousness: "V", pulse: 135 }),
    ]);
    const { points, yMax } = trendGeometry(rounds, box);
    assert.deepEqual(points.map((p) => p.total), [0, 2, 9]);
    assert.equal(yMax, 9);
    assert.deepEqual(points.map((p) => p.x), [10, 110, 210]);
    assert.equal(points[0].y, 110);
    assert.equal(points[2].y, 10);
    assert.equal(points[2].risk, "high");
  });

  test("the axis reaches 7 even when every total is low, and one round sits in the middle", () => {
    const { points, yMax, ticks } = trendGeometry(scoreRounds(readings(AT, {})), box);
    assert.equal(yMax, 7);
    assert.deepEqual(points.map((p) => [p.x, p.y]), [[110, 110]]);
    assert.deepEqual(
      ticks.map((t) => [t.total, t.y]),
      [
        [0, 110],
        [5, 110 - (5 / 7) * 100],
        [7, 10],
      ],
    );
  });
});
