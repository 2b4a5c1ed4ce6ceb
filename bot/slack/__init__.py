"""Slack: build_slack_app(...) wires thin listeners to the answer engine."""
