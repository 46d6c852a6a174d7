"""The error the Uplynk asset domain raises for a request it refuses (the api2 face renders it)."""


class AssetError(ValueError):
    """A request the domain refuses, with a message for the client."""
