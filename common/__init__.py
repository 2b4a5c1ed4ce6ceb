"""What every package uses: the one settings object, the error tree, plain-text helpers. Imports nothing of ours."""
