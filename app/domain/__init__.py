"""The one model of media, assets, events, jobs and the change log; no HTTP in here."""
