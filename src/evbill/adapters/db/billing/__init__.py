"""Recorded bills: one per contract and cycle."""
