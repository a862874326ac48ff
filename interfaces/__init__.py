"""The roof: the `omni` CLI and the processes it runs (scheduler, embedded services, doctor, demo).
Imports every layer below; nothing imports it."""

__version__ = "0.1.0"
