"""`/api/docs` and `/api/openapi.json`: the platform's public HTTP API as one OpenAPI document, read in Swagger UI
served by the gateway itself. `views.setup_api_docs` wires it; `merge` joins the documents; `gateway_api` describes
the gateway's own endpoints; `static/` holds Swagger UI (swagger-ui-dist, Apache-2.0, unchanged) and the page's
start-up script."""
