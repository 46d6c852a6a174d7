"""Dashboard, test/embed players and Uplynk-style playback URLs."""
