"""The ground floor: settings, errors, where the services are, credentials, domain names,
frequencies, process groups and charset rules. Imports nothing of the project above it."""
