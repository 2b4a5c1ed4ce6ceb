"""Microsoft Teams: the same assistant on the Microsoft 365 Agents SDK (aiohttp hosting)."""
