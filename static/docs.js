// Starts Swagger UI on /docs (a file, not inline code: the site's CSP runs scripts from this origin only).
(function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    tryItOutEnabled: false,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    onComplete: function () { el.dataset.rendered = "true"; }
  });
})();
