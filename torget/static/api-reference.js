// Starts Swagger UI on the API reference page. A file of its own, not an
// inline script: the Content-Security-Policy allows scripts from this site only.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // The default validator badge sends the document to swagger.io; nothing leaves this site.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" from a signed-in browser is a cookie request: it needs the CSRF token
    // that forms carry. Requests with an API token (Authorize) do not use it.
    requestInterceptor: function (request) {
      request.headers["X-CSRFToken"] = root.dataset.csrfToken;
      return request;
    },
  });
});
