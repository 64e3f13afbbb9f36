"""Integrations with web frameworks: ``rampart.integrations.asgi`` (pure ASGI middleware, any
ASGI framework) and ``rampart.fastapi`` (its FastAPI dependencies)."""
