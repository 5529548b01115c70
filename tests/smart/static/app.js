"use strict";
// Starts the SMART launch with the npm fhirclient, as a public client with
// PKCE. Settings come from the page's JSON config, overridden by query
// parameters; an authorize() failure is written to #error for the tests.
(function () {
  const query = new URLSearchParams(window.location.search);
  const defaults = JSON.parse(document.getElementById("config").textContent);
  const setting = (name) => query.get(name) || defaults[name] || "";
  const issInput = document.getElementById("iss");

  function showError(error) {
    const box = document.createElement("pre");
    box.id = "error";
    box.textContent = String(error && error.message ? error.message : error);
    document.body.append(box);
  }

  function authorize(iss) {
    const options = {
      clientId: setting("clientId"),
      scope: setting("scope"),
      redirectUri: setting("redirectUri"),
      iss: iss,
      // "required": send an S256 challenge, and refuse a server whose
      // discovery does not offer S256, so a passing launch proves PKCE.
      pkceMode: "required",
    };
    // fhirclient reads ?launch= itself and adds the launch scope for it.
    FHIR.oauth2.authorize(options).catch(showError);
  }

  issInput.value = setting("iss");
  document.getElementById("launch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    authorize(issInput.value);
  });
  if (query.has("iss") || query.has("launch")) {
    authorize(setting("iss"));
  }
})();
