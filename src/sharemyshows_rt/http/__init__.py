"""The REST API: routes, the push routes, the development tools and the OpenAPI document."""
