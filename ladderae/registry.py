"""A small name -> object registry with a decorator, shared by every pluggable part.

Pairing rules, pair kinds, pair losses, stop-gradient modes and likelihoods are
each one `Registry`: adding one touches one place (a decorated function or
class), unknown names fail with the list of known ones, and a name that is
taken (a built-in such as ``mirror`` or ``mse`` included) is only replaced when
the caller says so with ``override=True``.

>>> shapes = Registry("shape", "shape")
>>> @shapes.register("square")
... def square(n):
...     return n * n
>>> shapes.get("square")(3), shapes.names
(9, ['square'])
>>> shapes.register("square")(abs)
Traceback (most recent call last):
...
ValueError: A shape named 'square' is already registered. Pick another name, or pass override=True to replace it.
"""

__all__ = ["Registry"]


class Registry:
    """Maps names to objects; `get` resolves a registered name."""

    def __init__(self, kind, argument):
        self.kind = kind
        self.argument = argument
        self._entries = {}

    def register(self, name, *, override=False):
        """Decorator: register the decorated object under `name` (a non-empty string).

        A name that is already registered is refused unless ``override=True``:
        a typo'd duplicate must not silently replace a built-in.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} name must be a non-empty string. Received: {name!r}")
        if not isinstance(override, bool):
            raise ValueError(f"`override` must be True or False. Received: override={override!r}")
        if name in self._entries and not override:
            raise ValueError(
                f"A {self.kind} named {name!r} is already registered. "
                "Pick another name, or pass override=True to replace it."
            )

        def decorator(obj):
            self._entries[name] = obj
            return obj

        return decorator

    @property
    def names(self):
        return sorted(self._entries)

    def get(self, identifier):
        """The object registered under the name `identifier`; a clear error for anything else."""
        if isinstance(identifier, str):
            if identifier in self._entries:
                return self._entries[identifier]
            raise ValueError(
                f"Unknown {self.kind} {identifier!r} for `{self.argument}`. "
                f"Known: {', '.join(self.names)}. Register your own with the decorator."
            )
        raise ValueError(
            f"`{self.argument}` must be the name of a {self.kind} ({', '.join(self.names)}). "
            f"Received: {self.argument}={identifier!r}"
        )
