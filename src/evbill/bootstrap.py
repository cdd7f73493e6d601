"""The one wiring root: builds adapters from settings and hands them to the entrypoints."""
