"""The adoption tools every platform offers: the use-case assessment and the checklists.

core.py is what the platforms call; imports kb, common, bot.state and bot.audiences; never a platform.
"""
