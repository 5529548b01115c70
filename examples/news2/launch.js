"use strict";
// The SMART launch URL. An EHR launch brings ?iss=&launch= (fhirclient reads both from the
// URL itself); a standalone launch brings ?iss= alone and asks for a patient with
// launch/patient. The client id is ?client_id= if given, else config.json's; the scope is
// config.json's, less `launch` in a standalone launch.
(function () {
  const query = new URLSearchParams(window.location.search);
  const status = document.getElementById("status");

  function fail(text, error) {
    status.textContent = text;
    status.setAttribute("role", "alert");
    status.className = "error";
    if (error) console.error(error);
  }

  async function launch() {
    if (!query.has("iss")) {
      fail(
        "Appen må startes fra journalsystemet eller Torget: adressen mangler FHIR-serveren (iss).",
      );
      return;
    }
    let config;
    try {
      const response = await fetch("config.json", { cache: "no-store" });
      if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
      config = await response.json();
    } catch (error) {
      fail("Appen mangler oppsett (config.json) og kan ikke starte.", error);
      return;
    }
    // `launch` asks for the journal's launch context: a standalone launch has none to give.
    const scopes = String(config.scope || "").split(/\s+/).filter(Boolean);
    const scope = (query.has("launch") ? scopes : scopes.filter((s) => s !== "launch")).join(" ");
    try {
      await FHIR.oauth2.authorize({
        clientId: query.get("client_id") || config.clientId,
        scope,
        redirectUri: "index.html",
        // Torget's clients are public: PKCE with S256 is a certification requirement.
        pkceMode: "required",
      });
    } catch (error) {
      fail("Oppstarten mislyktes: Torget godtok ikke innloggingsforespørselen.", error);
    }
  }

  launch();
})();
