"""The lynkflow testing kit: signed clients, control client, and a pytest plugin."""
