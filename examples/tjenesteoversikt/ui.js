// DOM helpers shared by launch.js and app.js. Text only ever goes in as textContent: what the
// FHIR API returns is data, never markup.

/** A new element with a class (or none) and children: strings become text. */
export function element(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** Shows an error view ({ title, detail }) in #error, with the technical cause folded away. */
export function showError(view, cause) {
  const status = document.getElementById("status");
  if (status) {
    status.hidden = true;
  }
  const box = document.getElementById("error");
  box.replaceChildren(element("h2", null, view.title), element("p", null, view.detail));
  const technical = cause && (cause.message || String(cause));
  if (technical) {
    box.append(
      element(
        "details",
        null,
        element("summary", null, "Teknisk informasjon"),
        element("pre", null, technical),
      ),
    );
  }
  box.hidden = false;
}
