// Starts Swagger UI on /api/docs. A file rather than an inline script: the page's Content-Security-Policy runs
// scripts from the gateway only. The document's address comes from the page; nothing is loaded from elsewhere
// (no validator badge, no ?url= from the address bar).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    // No deep links: they put a link inside each operation's toggle button, a control inside a control that
    // keyboards and screen readers cannot reach apart (WCAG 4.1.2).
    deepLinking: false,
    docExpansion: "none",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    queryConfigEnabled: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
