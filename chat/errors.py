"""
The one error vocabulary of the chat backend.

Services and selectors raise these; chat.api.exception_handler turns them into
HTTP responses (``{"code", "detail"}`` with ``status``) and the consumers turn
them into ``{"type": "error", "code", "detail"}`` frames.
"""


class ChatError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        # The request field the error is about, for REST's field-error shape.
        self.field = field


class InvalidInput(ChatError):
    status = 400
    code = "invalid"


class Forbidden(ChatError):
    status = 403
    code = "forbidden"


class NotFound(ChatError):
    status = 404
    code = "not_found"
