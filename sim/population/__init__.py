"""Population and traffic: who has which apps, and when each app sends."""
