"""The pure core of evbill: standard library only, no I/O, no clock, no configuration."""
