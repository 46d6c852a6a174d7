"""The durable job queue (the `jobs` table), its handlers and the workers that run them."""
