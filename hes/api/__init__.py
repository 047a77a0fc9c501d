"""HTTP API: thin routers (parse, call a service, shape the answer)."""
