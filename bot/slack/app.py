"""build_slack_app(...): a slack-bolt App whose thin listeners hand messages to the Slack assistant."""

from __future__ import annotations

import logging
from typing import Any

from bot.chat import Chat
from bot.slack.assistant import SlackAssistant
from bot.slack.channels import ChannelModesFile
from bot.state.claims import Claims, MemoryClaims, ResilientClaims
from bot.state.kv import State
from common.errors import ConfigError
from common.settings import Settings

log = logging.getLogger(__name__)
# auth.test errors that mean the token itself is wrong, not the address or the network.
TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def check_slack_settings(settings: Settings, *, http: bool) -> None:
    """Fail fast, naming the variable and where to find its value."""
    where = "api.slack.com/apps -> your app"
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN must be the bot token (xoxb-...): find it at "
            f"{where} -> OAuth & Permissions -> Bot User OAuth Token."
        )
    if http and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is needed to verify requests in HTTP mode: find it at "
            f"{where} -> Basic Information -> App Credentials -> Signing Secret. Or set SLACK_APP_TOKEN "
            "(xapp-...) to use Socket Mode, which needs no public URL."
        )
    if not http and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write for Socket Mode: "
            f"create one at {where} -> Basic Information -> App-Level Tokens, or use HTTP mode (--slack-http)."
        )
    if settings.slack_api_base_url and not settings.slack_api_base_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_BASE_URL must be a URL such as https://slack.com/api/")


def build_slack_app(
    *,
    settings: Settings,
    chat: Chat,
    http: bool,
    claims: Claims | None = None,
    state: State | None = None,
    client: Any = None,
) -> Any:
    """A slack-bolt App with every listener registered; `client` defaults to one built from settings."""
    from slack_bolt import App
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.slack.listeners import register

    check_slack_settings(settings, http=http)
    modes = ChannelModesFile(settings.slack_channels_path, required=bool(settings.slack_channels_file))
    if client is None:
        kwargs = {"base_url": settings.slack_api_base_url} if settings.slack_api_base_url else {}
        client = WebClient(token=settings.slack_bot_token, **kwargs)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    identity = check_slack_token(client)  # before App(), which repeats the call but maps no errors
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=http,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    assistant = SlackAssistant(
        chat=chat,
        settings=settings,
        modes=modes,
        claims=ResilientClaims(claims) if claims is not None else MemoryClaims(),
        bot_user_id=identity["user_id"],
        bot_id=identity.get("bot_id", ""),
        state=state,
    )
    register(app, assistant)
    return app


def check_slack_token(client: Any) -> Any:
    """auth.test with the bot token: its identity, or a ConfigError naming what to fix."""
    from slack_sdk.errors import SlackApiError

    try:
        return client.auth_test()
    except SlackApiError as e:
        error = _slack_error(e)
        if error in TOKEN_ERRORS:
            raise ConfigError(
                f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token (xoxb-...) again from "
                "api.slack.com/apps -> your app -> OAuth & Permissions; reinstalling the app issues a new one."
            ) from None
        raise ConfigError(
            f"Slack's auth.test failed at {_api_url(client)} ({error}): check SLACK_API_BASE_URL (leave it unset "
            "for Slack itself) and SLACK_BOT_TOKEN."
        ) from None
    except OSError as e:  # refused, unresolvable, timed out (urllib's URLError is an OSError)
        raise ConfigError(
            f"Could not reach the Slack Web API at {_api_url(client)} ({getattr(e, 'reason', e)}): check "
            "SLACK_API_BASE_URL (leave it unset for Slack itself), the network, and any proxy (HTTPS_PROXY) "
            "or firewall between here and Slack."
        ) from None


def connect_socket_mode(app: Any, app_token: str) -> Any:
    """Receive events over Slack's Socket Mode (no public URL); returns the connected handler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
    except SlackApiError as e:
        handler.close()
        error = _slack_error(e)
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({error}) when opening Socket Mode: create an app-level token (xapp-...) "
            "with connections:write at api.slack.com/apps -> your app -> Basic Information -> App-Level Tokens, "
            "and check Socket Mode is enabled for the app."
        ) from None
    except OSError as e:  # apps.connections.open did not get through
        handler.close()
        raise ConfigError(
            f"Could not reach the Slack Web API at {_api_url(app.client)} ({getattr(e, 'reason', e)}) to open "
            "Socket Mode: check SLACK_API_BASE_URL, the network, and any proxy or firewall between here and Slack."
        ) from None
    if not handler.client.is_connected():  # the client logs why and keeps retrying in the background
        handler.close()
        raise ConfigError(
            "Could not open Slack's Socket Mode connection (the reason is logged above): check that the network "
            "and any proxy allow outgoing WebSocket (wss://) connections to Slack, or use HTTP mode (--slack-http)."
        )
    return handler


def _slack_error(e: Any) -> str:
    """Slack's error code from a SlackApiError (a non-JSON answer has none)."""
    data = getattr(e.response, "data", None)
    return str(data.get("error", "no error code"))[:120] if isinstance(data, dict) else "not a Slack API answer"


def _api_url(client: Any) -> str:
    return getattr(client, "base_url", "") or "https://slack.com/api/"
