"""Errors the service layer raises; blueprints turn them into JSON or a page message."""


class RequestError(Exception):
    """The whole request can't be processed: nothing was changed."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


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


def bad_request(message: str, code: str = "bad_request") -> RequestError:
    return RequestError(400, code, message)


def not_found(code: str, message: str) -> RequestError:
    return RequestError(404, code, message)
