"""lynkflow: a local, faithful emulator of the Uplynk api2 and Vualto Vuflow/VIS APIs."""

__version__ = "0.1.0"
