"""The JSON API (/api/v1), bearer tokens, documented by its OpenAPI description."""
