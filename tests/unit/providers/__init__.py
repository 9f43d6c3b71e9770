"""The providers, each against its vendor's scheme and fixtures."""
