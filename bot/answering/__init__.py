"""The answering path: question -> passages -> answer. Reading the message in its conversation, what the
guidance cannot know, retrieval, the answer backends, and the evaluation that scores them.

Imports kb, common and bot.types / bot.audiences; never a platform, state or the tools.
"""
