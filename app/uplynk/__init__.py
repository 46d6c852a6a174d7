"""The Uplynk api2 face: signed msg/sig requests in, api2-shaped JSON out."""
