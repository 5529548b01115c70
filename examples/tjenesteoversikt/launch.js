// The SMART launch URL: reads iss and launch from the query and the client id from the query
// or config.json, then hands over to FHIR.oauth2.authorize(), which comes back to index.html.
import { errorView, launchSettings } from "./smart.mjs";
import { showError } from "./ui.js";

/** config.json, or {} when it cannot be read: a client_id in the query still launches. */
async function readConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

async function launch() {
  const { options, problem } = launchSettings(window.location.search, await readConfig());
  if (problem) {
    showError({ title: "Appen kan ikke starte", detail: problem });
    return;
  }
  try {
    await FHIR.oauth2.authorize(options);
  } catch (error) {
    showError(errorView("launch", error), error);
  }
}

launch();
