"""The media domain: request schemas, the cost model and the service functions."""
