"""What every action shares: who acts, and the outcome it answers with."""
from dataclasses import dataclass, field

MAX_SERIALS_PER_REQUEST = 1000
MAX_GENERATE = 1000


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    source: str = "manual"


class _Conflict(Exception):
    """A conditional UPDATE lost a race; the step is retried from a fresh read."""


# Refusals that, for a code read off a photo, mean "not a serial of ours": a box label
# carries an EAN, an IMEI and a S/N, and only the one that names a serial is acted on.
NOT_OURS = {"unknown_serial", "not_a_serial", "invalid_serial", "unknown_sku"}


@dataclass
class Outcome:
    results: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # scanned texts that are not serials
    from_images: set = field(default_factory=set)  # texts decoded from photos, not typed
    # An unexpected error stopped the steps: some answer `not_done`, and a retry with the
    # request's Idempotency-Key does them (the answer is not kept as final).
    unfinished: bool = False
    cases: list = field(default_factory=list)  # scanned cases (SSCC) and the packs inside

    def add(self, text: str, result: dict) -> None:
        error = result.get("error")
        if error and text in self.from_images and error["code"] in NOT_OURS:
            self.ignored.append({"text": text, "kind": error["code"], "message": error["message"]})
        else:
            self.results.append(result)

    def as_dict(self) -> dict:
        body = {"results": self.results}
        if self.ignored:
            body["ignored"] = self.ignored
        if self.cases:
            body["cases"] = self.cases
        return body
