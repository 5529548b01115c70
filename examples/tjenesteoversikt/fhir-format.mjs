// Small readers of FHIR R4 JSON for the page: dates the Norwegian way, names, references.
// Pure: no DOM and no FHIR client.

/**
 * A FHIR date or dateTime as Norwegians write it: "2024-03-05" -> "05.03.2024", "2024-03" ->
 * "03.2024", "2024" -> "2024"; null for nothing or for what is no date.
 *
 * A dateTime shows the date it was written with, not the date in the browser's time zone:
 * the services' periods are plain dates, and a date must not move a day with the reader.
 */
export function formatDate(value) {
  const match =
    typeof value === "string" ? value.match(/^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/) : null;
  if (!match) {
    return null;
  }
  const [, year, month, day] = match;
  if ((month && (month < "01" || month > "12")) || (day && (day < "01" || day > "31"))) {
    return null;
  }
  return [day, month, year].filter(Boolean).join(".");
}

/** A Patient's or Practitioner's name: the official one if any, as "Given Family"; or null. */
export function personName(resource) {
  const names = (resource && resource.name) || [];
  const name =
    names.find((n) => n.use === "official") ||
    names.find((n) => n.use === "usual") ||
    names.find((n) => n.use !== "old") ||
    names[0];
  if (!name) {
    return null;
  }
  const text = name.text || [...(name.given || []), name.family].filter(Boolean).join(" ");
  return text.trim() || null;
}

// "Type/id" at the end of a relative or absolute reference, with an optional "/_history/n".
const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The id a Reference points to when it points to a `type`: "Organization/org-1" (relative,
 * absolute or versioned) -> "org-1"; null for another type, a contained or a missing reference.
 */
export function referenceId(reference, type) {
  const text = reference && typeof reference.reference === "string" ? reference.reference : "";
  const match = text.match(REFERENCE);
  return match && match[1] === type ? match[2] : null;
}
