"""The HTTP server the platforms mount on: the app, the operators' routes (health, readiness, metrics, the report).

Imports common, bot.state and each platform's HTTP edge (bot/slack/http.py; Teams' endpoint is passed in);
bot/web/refusals.py (refusing requests, few log lines) and bot/web/metrics.py are shared by every route.
"""
