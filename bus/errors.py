"""Our error tree. Nothing above ``bus/`` imports ``nats.errors``.

GaaiError                      base: code + message, safe to show to a user
├── TaskError                  an agent could not do its task (retryable or not)
├── RequestError               a client request was refused (bad input, unknown graph…)
└── BusError                   the transport failed (no server, timeout, no responders)
"""

from __future__ import annotations

from bus.contract import ErrorCode, ErrorInfo


class GaaiError(Exception):
    """A failure with a machine-readable ``code`` (one of ``bus.contract.ERROR_CODES``) and a sentence for people."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def info(self, retryable: bool = False) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, retryable=retryable)

    def __reduce__(self):
        # Errors cross process boundaries (worker processes). Subclasses have their own
        # constructor arguments, so rebuild from the attributes rather than calling __init__.
        return (_restore, (type(self), self.message, dict(self.__dict__)))

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class TaskError(GaaiError):
    """Raised by an agent. ``retryable`` says whether trying again can help."""

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool = False) -> None:
        super().__init__(code, message)
        self.retryable = retryable

    def info(self, retryable: bool | None = None) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, retryable=self.retryable)


class RequestError(GaaiError):
    """A request that cannot be served as given."""


class BusError(GaaiError):
    """The message bus could not carry a message."""


def _restore(cls: type[GaaiError], message: str, attributes: dict) -> GaaiError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attributes)
    return error
