"""The standard configurations each architecture is measured at (papers' sizes where they exist)."""

STANDARD = {
    # name: (architecture, model config, batch size)
    "dcgan-64": ("dcgan", {"resolution": 64, "channels": 3, "z_dim": 100, "gen_width": 64,
                           "disc_width": 64}, 64),
    "cgan-32": ("cgan", {"resolution": 32, "channels": 1, "z_dim": 100, "gen_width": 64,
                         "disc_width": 64}, 64),
}
