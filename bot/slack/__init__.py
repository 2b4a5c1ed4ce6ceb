"""Slack: build_slack_app(...) wires thin listeners to the Slack assistant, which speaks to the chat core.

Here: the HTTP edge (http.py), the listeners and what they read (listeners.py, messages.py, payloads.py),
answering (questions.py, delivery.py, private.py, votes.py, commands.py, tools.py, pane.py, experts.py),
Block Kit built by pure functions (blocks.py) and the channels file (channels.py). May import bot's core
(bot.chat, bot.tools, bot.state, bot.answering, bot.audiences, bot.web.refusals), common, and slack_bolt /
slack_sdk; nothing imports Slack but the composition root and the web app.
"""
