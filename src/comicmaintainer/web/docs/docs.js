// Starts Swagger UI on /openapi.json. A file of its own (not an inline script) so the page runs
// under the same Content-Security-Policy as the rest of the app.
window.ui = SwaggerUIBundle({ url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true });
