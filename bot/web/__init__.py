"""The HTTP server the platforms mount on: routes for operators (health, readiness, metrics, the report).

Imports common and bot.state; the platform adapters (bot/slack, bot/teams) add their own routes.
"""
