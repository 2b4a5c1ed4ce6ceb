"""The application: the command line (`adoptbot ...`) and the composition root that wires bot, ingest and kb.

The only package that imports both the serving bot and ingest; nothing imports it.
"""
