"""Routers: thin functions that parse, call a service function and wrap in ``{"data": ...}``."""
