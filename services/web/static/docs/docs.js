// Renders /openapi.json with Swagger UI. A file, not an inline script: the
// Content-Security-Policy allows scripts from this origin only.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  // BaseLayout without the standalone preset: no top bar asking for another URL.
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  deepLinking: true,
  // The default would load a badge from an outside validator: not ours to
  // call, and the CSP would refuse it anyway.
  validatorUrl: null,
});
