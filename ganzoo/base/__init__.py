"""The lowest layer: ganzoo's errors, atomic and bounded file I/O, the restricted unpickler, image reading."""
