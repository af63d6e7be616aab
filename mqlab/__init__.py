"""mqlab: a teaching lab that shows, with real measurements, why message brokers exist."""

__version__ = "0.1.0"
