"""OCPI 2.2.1 objects in and out: JSON documents <-> domain values, with field-level validation."""
