"""Use cases: one function per thing a user does; ports declare what they need from outside."""
