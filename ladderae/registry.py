"""A small name -> object registry with a decorator, shared by every pluggable part.

Pairing rules, pair losses, stop-gradient modes and likelihoods are each one
`Registry`: adding one touches one place (a decorated function), and unknown
names fail with the list of known ones.
"""

__all__ = ["Registry"]


class Registry:
    """Maps names to objects; `get` accepts a registered name or the object itself."""

    def __init__(self, kind, argument):
        self.kind = kind
        self.argument = argument
        self._entries = {}

    def register(self, name):
        """Decorator: register the decorated object under `name` (a non-empty string)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"A {self.kind} name must be a non-empty string. Received: {name!r}")

        def decorator(obj):
            self._entries[name] = obj
            return obj

        return decorator

    @property
    def names(self):
        return sorted(self._entries)

    def name_of(self, obj):
        """The registered name of `obj`, or None if it is not registered."""
        for name, entry in self._entries.items():
            if entry is obj:
                return name
        return None

    def __contains__(self, name):
        return name in self._entries

    def get(self, identifier):
        """Resolve a registered name (or a registered object itself) to the object."""
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
