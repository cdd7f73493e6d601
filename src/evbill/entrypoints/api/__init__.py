"""The REST API under /api/v1 (FastAPI): one module per area, ``create_app(settings)`` builds it."""
