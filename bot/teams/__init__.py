"""Microsoft Teams: the same assistant on the Microsoft 365 Agents SDK (aiohttp hosting).

app.py is the HTTP adapter (the SDK's app, its token check, thin handlers); assistant.py says which part a
message is for: answers.py (questions, streamed by streaming.py), commands.py, tools.py (the adoption tools'
cards) or votes.py. activity.py reads who and where an activity is from; outbox.py sends, in the turn and
after it; cards.py builds Adaptive Cards as plain dicts; conversations.py and storage.py keep the state.
May import the rest of bot (chat, answering, tools, state, web), kb and common; only the composition root
(adoptbot) imports it.
"""
