"""The seeded item loader: each (epoch, index) key loads under its own RNG seed, as before."""

import torch

from ganzoo.training.data_order import SeededItems, _mix


class _Noise(torch.utils.data.Dataset):
    """An 'augmentation' only: a draw from torch's global RNG."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index):
        return torch.rand(4)


def test_items_are_a_function_of_their_key_and_leave_the_training_rng_alone():
    items = SeededItems(_Noise(), seed=3)
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    first = items[(1, 5)]
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(items[(1, 5)], first) and not torch.equal(items[(2, 5)], first)
    # The stream every existing run and checkpoint was made with: torch's CPU generator
    # seeded by the mixed key (resuming an older run must see the same augmentations).
    torch.manual_seed(_mix(3, 1, 5))
    assert torch.equal(first, torch.rand(4))
