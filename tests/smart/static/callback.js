"use strict";
// Completes the launch: FHIR.oauth2.ready() exchanges the code (with the PKCE
// verifier) at the token endpoint. The token response goes into #result as
// JSON for the tests, with each credential replaced by whether it arrived:
// tokens never reach the page. Then the app reads its patient from the FHIR
// API (cross-origin, with the bearer token) and shows whom it read.
(function () {
  const CREDENTIALS = ["access_token", "refresh_token", "id_token"];

  function show(id, text) {
    const box = document.createElement("pre");
    box.id = id;
    box.textContent = text;
    document.body.append(box);
  }

  FHIR.oauth2.ready().then(
    (client) => {
      const response = client.state.tokenResponse || {};
      const result = {};
      for (const [name, value] of Object.entries(response)) {
        result[name] = CREDENTIALS.includes(name) ? Boolean(value) : value;
      }
      for (const name of CREDENTIALS) {
        result[name] = Boolean(response[name]);
      }
      // The verifier exists only when authorize() sent a code challenge.
      result.pkce = Boolean(client.state.codeVerifier);
      result.server = client.state.serverUrl;
      return client.patient.read().then(
        (patient) => {
          const name = (patient.name || [])[0] || {};
          result.read = `${patient.resourceType}/${patient.id}`;
          result.read_name = [...(name.given || []), name.family].join(" ");
          show("result", JSON.stringify(result, null, 2));
        },
        (error) => {
          result.read_error = String(error && error.message ? error.message : error);
          show("result", JSON.stringify(result, null, 2));
        },
      );
    },
    (error) => show("error", String(error && error.message ? error.message : error)),
  );
})();
