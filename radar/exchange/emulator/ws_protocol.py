"""What the public and the private Bitget WebSocket of the emulator share: the text keep-alive and the shape
of a request (`{"op": ..., "args": [{...}, ...]}`), with Bitget's parameter error for anything else."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ERR_PARAM = 30016  # Bitget: "Param error"


@dataclass(frozen=True, slots=True)
class WsRequest:
    op: str
    args: list[dict[str, Any]]


def is_ping(text: str) -> bool:
    """Bitget's keep-alive is the bare text `ping` (answered with `pong`), not a JSON frame."""
    return text.strip() == "ping"


def parse_request(text: str) -> WsRequest | dict[str, Any]:
    """The request in a text frame, or the error event to send back when it is not one."""
    try:
        request = json.loads(text)
        op, args = request["op"], request["args"]
        if not isinstance(op, str) or not isinstance(args, list) or not all(isinstance(a, dict) for a in args):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return {"event": "error", "code": ERR_PARAM, "msg": f"Param error: {text[:200]}"}
    return WsRequest(op, args)
