"""The `sam local start-api` Docker tier: scripts and the emulated AWS behind it (see README.md here)."""
