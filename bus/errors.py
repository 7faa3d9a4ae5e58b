"""Our error tree. Nothing above ``bus/`` imports ``nats.errors``.

GaaiError                      base: code + message (safe to show to a user) + retryable
├── TaskError                  an agent could not do its task
├── RequestError               a client request was refused (bad input, unknown graph…)
└── BusError                   the transport failed (no server, timeout, no responders)
"""

from __future__ import annotations

from gaai.bus.contract import RETRYABLE_CODES, ErrorCode, ErrorInfo


class GaaiError(Exception):
    """A failure with a machine-readable ``code`` (one of ``bus.contract.ERROR_CODES``) and a sentence for people."""

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = code in RETRYABLE_CODES if retryable is None else retryable

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, retryable=self.retryable)

    def __reduce__(self):
        # Errors cross process boundaries (worker processes). Subclasses have their own
        # constructor arguments, so rebuild from the attributes rather than calling __init__.
        return (_restore, (type(self), self.message, dict(self.__dict__)))

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class TaskError(GaaiError):
    """Raised by an agent. ``retryable`` (by default the code's, from ``RETRYABLE_CODES``) makes the worker
    redeliver the task with backoff."""


class RequestError(GaaiError):
    """A request that cannot be served as given."""


class BusError(GaaiError):
    """The message bus could not carry a message."""


def error_info(code: ErrorCode, message: str) -> ErrorInfo:
    """An ``ErrorInfo`` whose ``retryable`` is the code's, from ``RETRYABLE_CODES``."""
    return ErrorInfo(code=code, message=message, retryable=code in RETRYABLE_CODES)


def _restore(cls: type[GaaiError], message: str, attributes: dict) -> GaaiError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error
