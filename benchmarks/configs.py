"""The standard configurations each architecture is measured at (papers' sizes where they exist)."""

STANDARD = {
    # name: (architecture, model config, batch size)
    "dcgan-64": ("dcgan", {"resolution": 64, "channels": 3, "z_dim": 100, "gen_width": 64,
                           "disc_width": 64}, 64),
    "cgan-32": ("cgan", {"resolution": 32, "channels": 1, "z_dim": 100, "gen_width": 64,
                         "disc_width": 64}, 64),
    # pix2pix as the reference trains it: unet_256, batch norm, dropout, 70x70 PatchGAN, batch 1;
    # and unet_128 at 128x128 batch 4, a size a CPU can time.
    "pix2pix-256": ("pix2pix", {"resolution": 256, "depth": 8}, 1),
    "pix2pix-128": ("pix2pix", {"resolution": 128, "depth": 7}, 4),
    # CycleGAN as the reference trains it: resnet_9blocks, 70x70 PatchGAN, instance norm,
    # batch size 1 (one step: both generators, their cycles and identities, both critics).
    "cyclegan-256": ("cyclegan", {"resolution": 256, "blocks": 9}, 1),
    "cyclegan-128": ("cyclegan", {"resolution": 128, "blocks": 9}, 1),
    # StackGAN at the paper's sizes (CUB: char-CNN-RNN 1024-d, N_g = 128, N_z = 100, GF_DIM 128,
    # DF_DIM 64; 64x64 then 256x256). Stage II is timed on an untrained Stage I.
    "stackgan-stage1-64": ("stackgan", {"stage": 1, "text_encoder": "embeddings",
                                        "stage1_resolution": 64, "stage2_resolution": 256}, 64),
    "stackgan-stage2-256": ("stackgan", {"stage": 2, "stage1": "untrained",
                                         "text_encoder": "embeddings", "stage1_resolution": 64,
                                         "stage2_resolution": 256}, 64),
    # Stage II at 256x256 with batch 4: a size a CPU can time.
    "stackgan-stage2-256-b4": ("stackgan", {"stage": 2, "stage1": "untrained",
                                            "text_encoder": "embeddings", "stage1_resolution": 64,
                                            "stage2_resolution": 256}, 4),
}


#: Data loading alone (the ``load`` suite): name -> (dataset, [data] table, batch size).
LOADERS = {
    "digits-32": ("digits", {"resolution": 32}, 64),
    "photo-pairs-64": ("photo-pairs", {"task": "edges2photo", "resolution": 64,
                                       "photo_size": 192, "items": 2048}, 8),
}

#: Timed only on request (``benchmarks/variants.py``), not by the default suite: the README's
#: main job, DCGAN on the 32x32 digits.
EXTRA = {
    "dcgan-digits": ("dcgan", {"resolution": 32, "channels": 1, "z_dim": 64, "gen_width": 32,
                               "disc_width": 32}, 64),
}
