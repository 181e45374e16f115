"""What KPIs are broken down by: channel (normalised), issue type, tag.

Each tool names its channels its own way (Zendesk ``Via``: Mail, Web form,
Native Messaging; Freshdesk ``Source``: Email, Portal, Phone; Intercom
``Channel``; Help Scout ``Type``). Breakdowns group them into a few kinds;
the values as exported are kept beside each kind.
"""

from __future__ import annotations

import re

BREAKDOWNS = ("channel", "type", "tag")
NONE = "(none)"  # a ticket (or an answer without a ticket) that has no value

# Checked in this order, each against every word of the value: "Facebook
# Messenger" is social, "Native Messaging" chat, "Outbound Email" email.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("mail", "email", "inbox")),
    ("social", ("twitter", "tweet", "facebook", "instagram", "tiktok", "linkedin", "social", "youtube",
                "forum", "community", "reddit")),
    ("chat", ("chat", "livechat", "messag", "whatsapp", "sms", "bot", "telegram", "wechat", "viber")),
    ("phone", ("phone", "call", "voice", "voicemail", "ivr", "telephon")),
    ("web", ("web", "portal", "form", "widget", "feedback", "help", "site", "mobihelp")),
    ("api", ("api", "integration", "sdk")),
)
_WORD = re.compile(r"[a-z]+")


def channel_kind(value: str | None) -> str:
    """email, chat, phone, social, web, api or other (``NONE`` when empty)."""
    if value is None or not value.strip():
        return NONE
    words = _WORD.findall(value.lower())
    if words == ["x"]:
        return "social"
    for kind, prefixes in _KINDS:
        if any(word.startswith(prefixes) for word in words):
            return kind
    return "other"


def group_value(by: str, value: str | None) -> str:
    """The row a stored value falls in: channels by kind, types and tags in lower case."""
    if by == "channel":
        return channel_kind(value)
    text = (value or "").strip().lower()
    return text if text and text != "-" else NONE
