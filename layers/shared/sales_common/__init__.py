"""Code shared by every service: API wiring, errors, settings, DynamoDB helpers, pagination."""
