"""The Vualto Vuflow / VIS face: API-KEY requests in, camelCase VIS JSON out."""
