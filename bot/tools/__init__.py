"""The adoption tools every platform offers: the use-case assessment and the checklists.

core.py is what the platforms call (Tools, and the Markdown they render); assessment/ and checklists/ hold
the rules, one noun per module. Imports kb, common, bot.state, bot.answering and bot.audiences; never a platform.
"""
