"""``google.longrunning.Operation`` and ``google.rpc.Status``: the shapes shared by surfaces.

An operation's ``metadata`` and ``response`` are ``Any`` fields: objects
carrying ``"@type": "type.googleapis.com/<message>"``, which clients such as
google-generativeai need to unpack them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuneport_emulator.schema import Message, Schema, render, type_url

__all__ = [
    "CANCEL_OPERATION_REQUEST",
    "LIST_OPERATIONS_RESPONSE",
    "OPERATION",
    "STATUS",
    "RpcStatus",
    "operation_json",
    "render_operation",
]

_RPC = Schema("google.rpc")
STATUS: Message = _RPC.message("Status", "code int32", "message string", "details any[]")


@dataclass(frozen=True)
class RpcStatus:
    """A ``google.rpc.Status`` without details: why an operation or a job failed."""

    #: A ``google.rpc.Code`` number (1 CANCELLED, 3 INVALID_ARGUMENT, 13 INTERNAL…).
    code: int
    message: str

    def to_json(self) -> dict[str, Any]:
        """As stored, and as the wire writes it (normalized)."""
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RpcStatus:
        """A stored status."""
        return cls(int(value["code"]), str(value.get("message", "")))


_LONGRUNNING = Schema("google.longrunning")
OPERATION: Message = _LONGRUNNING.message(
    "Operation",
    "name string",
    "metadata any",
    "done bool",
    "error google.rpc.Status oneof=result",
    "response any oneof=result",
)
LIST_OPERATIONS_RESPONSE: Message = _LONGRUNNING.message(
    "ListOperationsResponse", "operations Operation[]", "nextPageToken string", "unreachable string[]"
)
#: The body of ``POST …/operations/*:cancel`` (its name is bound from the path).
CANCEL_OPERATION_REQUEST: Message = _LONGRUNNING.message("CancelOperationRequest", "name string")
_LONGRUNNING.check_complete()


def operation_json(
    name: str,
    *,
    metadata_type: str,
    metadata: dict[str, Any],
    done: bool,
    response_type: str | None = None,
    response: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Operation in normalized form; ``*_type`` are full message names for ``@type``."""
    operation: dict[str, Any] = {"name": name, "metadata": {"@type": type_url(metadata_type), **metadata}}
    if done:  # proto3 JSON leaves out false booleans
        operation["done"] = True
    if error is not None:
        operation["error"] = error
    elif done and response is not None and response_type is not None:
        operation["response"] = {"@type": type_url(response_type), **response}
    return operation


def render_operation(operation: dict[str, Any], *, enum_int: bool) -> dict[str, Any]:
    """An Operation as proto3 JSON (its Any fields written through their ``@type``)."""
    return render(operation, OPERATION, enum_int=enum_int)
