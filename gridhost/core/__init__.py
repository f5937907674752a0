"""The host: config, plugin discovery, routing, operations endpoints, services."""
