// The NEWS2 scorer against the RCP chart (2017): every band boundary on both sides, the
// aggregate bands, completeness and staleness, rounding and measurement rounds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  clinicalRisk,
  groupRounds,
  PARAMETERS,
  roundToChart,
  scoreAirOrOxygen,
  scoreConsciousness,
  scoreNews2,
  scorePulse,
  scoreRespirationRate,
  scoreRounds,
  scoreSpo2Scale1,
  scoreSpo2Scale2,
  scoreSystolicBP,
  scoreTemperature,
} from "./news2.mjs";

/** Asserts `score(value)` for each [value, expected] pair, naming the value on failure. */
function assertScores(score, cases) {
  for (const [value, expected] of cases) {
    assert.equal(score(value), expected, `score of ${value}`);
  }
}

describe("each parameter scores as the chart's bands, on both sides of every boundary", () => {
  test("respiration rate: ≤8 → 3, 9–11 → 1, 12–20 → 0, 21–24 → 2, ≥25 → 3", () => {
    assertScores(scoreRespirationRate, [
      [0, 3],
      [8, 3],
      [9, 1],
      [11, 1],
      [12, 0],
      [20, 0],
      [21, 2],
      [24, 2],
      [25, 3],
      [60, 3],
    ]);
  });

  test("SpO2 scale 1: ≤91 → 3, 92–93 → 2, 94–95 → 1, ≥96 → 0", () => {
    assertScores(scoreSpo2Scale1, [
      [50, 3],
      [91, 3],
      [92, 2],
      [93, 2],
      [94, 1],
      [95, 1],
      [96, 0],
      [100, 0],
    ]);
  });

  test("SpO2 scale 2 on air: ≤83 → 3, 84–85 → 2, 86–87 → 1, 88–92 → 0, ≥93 → 0", () => {
    assertScores((spo2) => scoreSpo2Scale2(spo2, false), [
      [83, 3],
      [84, 2],
      [85, 2],
      [86, 1],
      [87, 1],
      [88, 0],
      [92, 0],
      [93, 0],
      [97, 0],
      [100, 0],
    ]);
  });

  test("SpO2 scale 2 on oxygen: 88–92 → 0, 93–94 → 1, 95–96 → 2, ≥97 → 3", () => {
    assertScores((spo2) => scoreSpo2Scale2(spo2, true), [
      [83, 3],
      [84, 2],
      [85, 2],
      [86, 1],
      [87, 1],
      [88, 0],
      [92, 0],
      [93, 1],
      [94, 1],
      [95, 2],
      [96, 2],
      [97, 3],
      [100, 3],
    ]);
  });

  test("air or oxygen: oxygen → 2, air → 0", () => {
    assert.equal(scoreAirOrOxygen(true), 2);
    assert.equal(scoreAirOrOxygen(false), 0);
  });

  test("systolic blood pressure: ≤90 → 3, 91–100 → 2, 101–110 → 1, 111–219 → 0, ≥220 → 3", () => {
    assertScores(scoreSystolicBP, [
      [60, 3],
      [90, 3],
      [91, 2],
      [100, 2],
      [101, 1],
      [110, 1],
      [111, 0],
      [219, 0],
      [220, 3],
      [260, 3],
    ]);
  });

  test("pulse: ≤40 → 3, 41–50 → 1, 51–90 → 0, 91–110 → 1, 111–130 → 2, ≥131 → 3", () => {
    assertScores(scorePulse, [
      [30, 3],
      [40, 3],
      [41, 1],
      [50, 1],
      [51, 0],
      [90, 0],
      [91, 1],
      [110, 1],
      [111, 2],
      [130, 2],
      [131, 3],
      [180, 3],
    ]);
  });

  test("consciousness: alert → 0; new confusion, voice, pain, unresponsive → 3", () => {
    assertScores(scoreConsciousness, [
      ["A", 0],
      ["C", 3],
      ["V", 3],
      ["P", 3],
      ["U", 3],
    ]);
  });

  test("temperature: ≤35.0 → 3, 35.1–36.0 → 1, 36.1–38.0 → 0, 38.1–39.0 → 1, ≥39.1 → 2", () => {
    assertScores(scoreTemperature, [
      [33.0, 3],
      [35.0, 3],
      [35.1, 1],
      [36.0, 1],
      [36.1, 0],
      [38.0, 0],
      [38.1, 1],
      [39.0, 1],
      [39.1, 2],
      [41.5, 2],
    ]);
  });
});

describe("values between the chart's bands are rounded to the chart's precision first", () => {
  test("a respiration rate of 11.5 rounds to 12 and scores 0; 11.4 rounds to 11, 1", () => {
    assert.equal(scoreRespirationRate(11.5), 0);
    assert.equal(scoreRespirationRate(11.4), 1);
  });

  test("a temperature of 36.05 rounds to 36.1 despite its float, and scores 0", () => {
    assert.equal(roundToChart(36.05, 1), 36.1);
    assert.equal(scoreTemperature(36.05), 0);
    assert.equal(scoreTemperature(36.04), 1);
  });

  test("a temperature of 35.04 rounds to 35.0 and scores 3; 35.05 rounds to 35.1, 1", () => {
    assert.equal(scoreTemperature(35.04), 3);
    assert.equal(scoreTemperature(35.05), 1);
  });

  test("blood pressure, pulse and SpO2 between integers round half up", () => {
    assert.equal(scoreSystolicBP(90.4), 3);
    assert.equal(scoreSystolicBP(90.5), 2);
    assert.equal(scorePulse(50.5), 0);
    assert.equal(scorePulse(130.49), 2);
    assert.equal(scoreSpo2Scale1(95.5), 0);
    assert.equal(scoreSpo2Scale2(92.5, true), 1);
  });

  test("numbers already written with an exponent still round", () => {
    assert.equal(roundToChart(1e-7, 1), 0);
    assert.equal(roundToChart(2.5e1, 0), 25);
  });
});

describe("the scoring functions refuse what is not a measurement", () => {
  test("negative, non-finite and non-numeric values throw RangeError", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "12", null, undefined]) {
      assert.throws(() => scoreRespirationRate(bad), RangeError, `value ${bad}`);
    }
  });

  test("SpO2 above 100 % throws", () => {
    assert.throws(() => scoreSpo2Scale1(101), RangeError);
    assert.throws(() => scoreSpo2Scale2(101, true), RangeError);
  });

  test("a consciousness letter outside ACVPU and an oxygen flag that is not boolean throw", () => {
    assert.throws(() => scoreConsciousness("a"), RangeError);
    assert.throws(() => scoreConsciousness("X"), RangeError);
    assert.throws(() => scoreAirOrOxygen(2), RangeError);
  });
});

describe("the clinical risk bands of the aggregate score", () => {
  test("0 is low with routine monitoring, 1–4 low with an assessment by a nurse", () => {
    const zero = clinicalRisk(0, false);
    const four = clinicalRisk(4, false);
    assert.equal(zero.key, "low");
    assert.equal(four.key, "low");
    assert.equal(clinicalRisk(1, false).key, "low");
    assert.match(zero.monitoring, /12\. time/);
    assert.match(four.monitoring, /4\.–6\. time/);
  });

  test("a single 3 with a total below 5 is low-medium, an urgent ward-based response", () => {
    assert.equal(clinicalRisk(3, true).key, "low-medium");
    assert.equal(clinicalRisk(4, true).key, "low-medium");
    assert.equal(clinicalRisk(3, true).label, "Lav–middels");
  });

  test("5 and 6 are medium whether or not one parameter scored 3", () => {
    assert.equal(clinicalRisk(4, false).key, "low");
    assert.equal(clinicalRisk(5, false).key, "medium");
    assert.equal(clinicalRisk(6, true).key, "medium");
  });

  test("7 and above are high, an emergency response", () => {
    assert.equal(clinicalRisk(6, false).key, "medium");
    assert.equal(clinicalRisk(7, false).key, "high");
    assert.equal(clinicalRisk(20, true).key, "high");
    assert.equal(clinicalRisk(7, false).label, "Høy");
  });

  test("every band has a label and a response text in bokmål", () => {
    for (const [total, red] of [
      [0, false],
      [2, false],
      [3, true],
      [5, false],
      [9, true],
    ]) {
      const risk = clinicalRisk(total, red);
      assert.ok(risk.label.length > 0 && risk.response.length > 20, `band of ${total}`);
    }
  });
});

const AT = "2026-11-02T06:00:00Z";

/** One reading of each parameter at `time`, all scoring 0, with `changes` applied. */
function round(time = AT, changes = {}) {
  const values = {
    respirationRate: 16,
    spo2: 97,
    airOrOxygen: 0,
    systolicBP: 130,
    pulse: 72,
    consciousness: "A",
    temperature: 36.8,
    ...changes,
  };
  return PARAMETERS.filter((p) => values[p] !== undefined).map((parameter) => ({
    parameter,
    value: values[parameter],
    time,
  }));
}

describe("scoreNews2 aggregates the latest reading of each parameter", () => {
  test("a round that scores 0 everywhere totals 0, low, with every row ok", () => {
    const result = scoreNews2(round());
    assert.equal(result.complete, true);
    assert.equal(result.total, 0);
    assert.equal(result.risk.key, "low");
    assert.deepEqual(
      result.parameters.map((row) => [row.parameter, row.status, row.score]),
      PARAMETERS.map((p) => [p, "ok", 0]),
    );
  });

  test("the total is the sum of the parameter scores", () => {
    // 2 (rr 22) + 1 (spo2 95) + 0 + 0 + 1 (pulse 95) + 0 + 1 (38.5) = 5
    const changes = { respirationRate: 22, spo2: 95, pulse: 95, temperature: 38.5 };
    const result = scoreNews2(round(AT, changes));
    assert.equal(result.total, 5);
    assert.equal(result.risk.key, "medium");
  });

  test("one parameter scoring 3 makes an otherwise low total low-medium", () => {
    const result = scoreNews2(round(AT, { consciousness: "C" }));
    assert.equal(result.total, 3);
    assert.equal(result.risk.key, "low-medium");
  });

  test("oxygen scores 2 for any flow above 0 and 0 for a flow of 0", () => {
    assert.equal(scoreNews2(round(AT, { airOrOxygen: 2 })).total, 2);
    assert.equal(scoreNews2(round(AT, { airOrOxygen: 0.5 })).total, 2);
    assert.equal(scoreNews2(round(AT, { airOrOxygen: 0 })).total, 0);
  });

  test("scale 2 scores a high SpO2 on oxygen; scale 1 does not", () => {
    const readings = round(AT, { spo2: 97, airOrOxygen: 2 });
    assert.equal(scoreNews2(readings).total, 2);
    const scale2 = scoreNews2(readings, { scale: 2 });
    assert.equal(scale2.total, 5);
    assert.equal(scale2.scale, 2);
    assert.equal(scale2.risk.key, "medium");
  });

  test("an unknown scale is refused", () => {
    assert.throws(() => scoreNews2(round(), { scale: 3 }), RangeError);
  });

  test("values are reported as the chart read them: rounded, oxygen as a flag", () => {
    const result = scoreNews2(round(AT, { temperature: 36.05, airOrOxygen: 3 }));
    const value = (p) => result.parameters.find((row) => row.parameter === p).value;
    assert.equal(value("temperature"), 36.1);
    assert.equal(value("airOrOxygen"), true);
  });

  test("the newest reading of a parameter is the one scored", () => {
    const older = round("2026-11-02T00:00:00Z", { pulse: 135 });
    const newer = round(AT, { pulse: 72 });
    const result = scoreNews2([...older, ...newer]);
    assert.equal(result.total, 0);
    const pulse = result.parameters.find((row) => row.parameter === "pulse");
    assert.equal(pulse.reading.time, AT);
  });
});

describe("a score needs all seven parameters, fresh and valid", () => {
  test("missing parameters are named and there is no total or risk", () => {
    const result = scoreNews2(round(AT, { systolicBP: undefined, consciousness: undefined }));
    assert.equal(result.complete, false);
    assert.equal(result.total, null);
    assert.equal(result.risk, null);
    assert.deepEqual(result.missing, ["systolicBP", "consciousness"]);
    assert.deepEqual(result.stale, []);
  });

  test("the rows that are present still carry their scores", () => {
    const result = scoreNews2(round(AT, { pulse: 140, temperature: undefined }));
    const pulse = result.parameters.find((row) => row.parameter === "pulse");
    const temperature = result.parameters.find((row) => row.parameter === "temperature");
    assert.equal(pulse.score, 3);
    assert.equal(temperature.status, "missing");
    assert.equal(temperature.score, null);
  });

  test("no readings at all means seven missing parameters", () => {
    const result = scoreNews2([]);
    assert.equal(result.complete, false);
    assert.deepEqual(result.missing, PARAMETERS);
    assert.equal(result.reference, null);
  });

  test("a reading exactly 24 hours before the newest is fresh; a minute more is stale", () => {
    const readings = round(AT, { temperature: undefined });
    const fresh = scoreNews2([
      ...readings,
      { parameter: "temperature", value: 36.8, time: "2026-11-01T06:00:00Z" },
    ]);
    assert.equal(fresh.complete, true);
    const stale = scoreNews2([
      ...readings,
      { parameter: "temperature", value: 36.8, time: "2026-11-01T05:59:00Z" },
    ]);
    assert.equal(stale.complete, false);
    assert.equal(stale.total, null);
    assert.deepEqual(stale.stale, ["temperature"]);
    assert.deepEqual(stale.missing, []);
  });

  test("the freshness window is configurable", () => {
    const readings = [
      ...round(AT, { pulse: undefined }),
      { parameter: "pulse", value: 72, time: "2026-11-02T01:00:00Z" },
    ];
    assert.equal(scoreNews2(readings, { maxAgeHours: 4 }).complete, false);
    assert.deepEqual(scoreNews2(readings, { maxAgeHours: 4 }).stale, ["pulse"]);
    assert.equal(scoreNews2(readings, { maxAgeHours: 6 }).complete, true);
  });

  test("with `now` given, a round older than the window is stale in every parameter", () => {
    const result = scoreNews2(round(AT), { now: "2026-11-20T12:00:00Z" });
    assert.equal(result.complete, false);
    assert.deepEqual(result.stale, PARAMETERS);
    assert.equal(result.reference, Date.parse("2026-11-20T12:00:00Z"));
    assert.equal(scoreNews2(round(AT), { now: Date.parse("2026-11-02T12:00:00Z") }).total, 0);
  });

  test("an unreadable `now` is refused", () => {
    assert.throws(() => scoreNews2(round(), { now: "i går" }), RangeError);
  });

  test("an invalid latest value is named and not replaced by an older one", () => {
    const readings = [
      ...round("2026-11-02T00:00:00Z"),
      ...round(AT, { spo2: 140, consciousness: "X" }),
    ];
    const result = scoreNews2(readings);
    assert.equal(result.complete, false);
    assert.deepEqual(result.invalid, ["spo2", "consciousness"]);
    assert.equal(result.total, null);
  });

  test("a missing or negative number is invalid, not zero", () => {
    const result = scoreNews2(round(AT, { pulse: null, respirationRate: -4 }));
    assert.deepEqual(result.invalid, ["respirationRate", "pulse"]);
  });

  test("readings without a readable time or of unknown parameters are left out", () => {
    const result = scoreNews2([
      ...round(AT, { pulse: undefined }),
      { parameter: "pulse", value: 72, time: "ikke en tid" },
      { parameter: "pulse", value: 72 },
      { parameter: "diastolicBP", value: 80, time: AT },
    ]);
    assert.deepEqual(result.missing, ["pulse"]);
  });

  test("scale 2 without a usable air-or-oxygen reading cannot score SpO2", () => {
    const result = scoreNews2(round(AT, { airOrOxygen: undefined }), { scale: 2 });
    const spo2 = result.parameters.find((row) => row.parameter === "spo2");
    assert.equal(spo2.status, "needs-oxygen");
    assert.equal(spo2.score, null);
    assert.deepEqual(result.missing, ["airOrOxygen"]);
    assert.equal(result.total, null);
  });
});

describe("measurement rounds for the trend", () => {
  test("readings group by instant, oldest first, whatever the time zone notation", () => {
    const rounds = groupRounds([
      ...round(AT),
      ...round("2026-11-01T20:00:00Z"),
      { parameter: "pulse", value: 80, time: "2026-11-02T07:00:00+01:00" },
    ]);
    assert.deepEqual(
      rounds.map((r) => [new Date(r.time).toISOString(), r.readings.length]),
      [
        ["2026-11-01T20:00:00.000Z", 7],
        ["2026-11-02T06:00:00.000Z", 8],
      ],
    );
  });

  test("each complete round is scored and an incomplete round has no total", () => {
    const scored = scoreRounds([
      ...round("2026-11-01T08:00:00Z", { respirationRate: 22 }),
      ...round("2026-11-01T20:00:00Z", { temperature: undefined }),
      ...round(AT, { respirationRate: 26, pulse: 115 }),
    ]);
    assert.deepEqual(
      scored.map((r) => r.result.total),
      [2, null, 5],
    );
    assert.deepEqual(scored[1].result.missing, ["temperature"]);
    assert.equal(scored[2].result.risk.key, "medium");
  });

  test("rounds are scored on the scale asked for", () => {
    const scored = scoreRounds(round(AT, { spo2: 98, airOrOxygen: 2 }), { scale: 2 });
    assert.equal(scored[0].result.total, 5);
  });

  test("no readings give no rounds", () => {
    assert.deepEqual(groupRounds([]), []);
    assert.deepEqual(scoreRounds([]), []);
  });
});
