"""Slack: build_slack_app(...) wires thin listeners to the Slack assistant, which speaks to the chat core."""
