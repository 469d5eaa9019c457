"""Zoo entries, one module per chapter; importing this package registers them all."""

from . import ch00, ch02, ch03  # noqa: F401
