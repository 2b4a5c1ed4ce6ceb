"""`python -m adoptbot.cli ...`: the same as the `adoptbot` console script."""

from adoptbot.cli.main import main_exit

main_exit()
