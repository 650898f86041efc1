"""Errors the service layer raises; blueprints turn them into JSON or a page message."""


class RequestError(Exception):
    """The whole request can't be processed: nothing was changed.

    `retry_after` (seconds) marks an answer that means "try again later": it is sent as a
    Retry-After header, and only such answers (and 5xx) are retried by the phone's outbox;
    every other refusal is final and shown to the picker."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.field = field  # the input at fault, so a form can say it next to that input

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def response(self):
        from flask import jsonify
        response = jsonify(self.as_dict())
        response.status_code = self.status
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


class StepError(Exception):
    """One serial of an action was refused; the others go on."""

    def __init__(self, code: str, message: str, sku: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.sku = sku

    def as_result(self, text: str) -> dict:
        result = {"serial": text, "ok": False, "error": {"code": self.code, "message": self.message}}
        if self.sku:
            result["sku"] = self.sku
        return result


def bad_request(message: str, code: str = "bad_request", field: str | None = None) -> RequestError:
    return RequestError(400, code, message, field=field)


def not_found(code: str, message: str) -> RequestError:
    return RequestError(404, code, message)


def busy(message: str = "The system is busy; this will be tried again in a moment.",
         retry_after: int = 2) -> RequestError:
    return RequestError(503, "busy", message, retry_after=retry_after)


def refusal(key: str, sku: str | None = None, /, **values) -> StepError:
    """A step's refusal, worded by the message catalogue (messages.py)."""
    from . import messages
    return StepError(messages.code_of(key), messages.say(key, **values), sku)


def refuse(status: int, key: str, /, **values) -> RequestError:
    """A whole request's refusal, worded by the message catalogue (messages.py)."""
    from . import messages
    return RequestError(status, messages.code_of(key), messages.say(key, **values))
