"""Running the platform on one machine."""
