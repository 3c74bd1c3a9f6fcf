"""Exceptions that einet raises on purpose, each with a message a user can act on."""


class EinetError(Exception):
    """Base class of every error einet raises deliberately."""


class ConfigError(EinetError, ValueError):
    """A configuration value is missing, of the wrong type or out of range.

    The message always names the key path (``model.populations.E.tau``), the
    offending value and what was expected.
    """

    def __init__(self, path: str, value, expected: str):
        self.path = path
        self.value = value
        self.expected = expected
        super().__init__(f"{path}: got {value!r}, expected {expected}")


class SimulationDiverged(EinetError, FloatingPointError):
    """A simulation produced NaN, infinity or a rate above the configured bound."""


class InsufficientMemory(EinetError, MemoryError):
    """A network would not fit into the memory of the chosen device."""
