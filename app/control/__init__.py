"""The control plane under /_lynkflow: health, readiness and (in later modules) test controls."""
