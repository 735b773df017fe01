"""Small torch helpers: devices, seeding, tensors."""

import threading
from contextlib import contextmanager

import numpy as np
import torch


class DeviceError(ValueError):
    """A device this machine cannot use: not a torch device, no CUDA, or a
    CUDA device it does not have.

    Parameters
    ----------
    reason : str
        What is wrong, naming the device.
    advice : str, default=None
        What to use instead; the message is ``"{reason}; {advice}"``.

    Attributes
    ----------
    reason : str
        What is wrong, without the advice, for a caller that gives its own
        (the command line names its option rather than the parameter).
    """

    def __init__(self, reason, advice=None):
        super().__init__(f"{reason}; {advice}" if advice else f"{reason}.")
        self.reason = reason


def resolve_device(device):
    """The :class:`torch.device` for an estimator's ``device`` parameter.

    Parameters
    ----------
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    device : torch.device

    Raises
    ------
    DeviceError
        When this machine cannot use ``device``.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise DeviceError(
            f"device={device!r} is not a valid torch device",
            "use 'cpu', 'cuda', 'cuda:N' or 'auto'.",
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"device={device!r} but CUDA is not available on this machine",
            "use device='cpu' or device='auto'.",
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceError(
            f"device={device!r} but this machine has {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}"
        )
    if resolved.type not in ("cpu", "cuda"):
        raise DeviceError(
            f"device={device!r} is not supported", "use 'cpu', 'cuda' or 'auto'."
        )
    return resolved


# torch's generators are one per process: blocks seeding them in threads of
# one process take turns, so that each draws only its own numbers
_seed_lock = threading.RLock()


@contextmanager
def torch_seed(seed, device):
    """Seed the generators training draws from, the CPU's and that of the GPU it
    runs on, for the block; restore the caller's states after it.

    Not ``torch.manual_seed``: it would also reseed every other GPU's generator.
    Blocks in threads of one process run one at a time: another thread's
    draws (a fit's dropout, say) would change this block's numbers, and a
    fit's result would depend on what else ran.
    """
    gpus = []
    if device.type == "cuda":
        gpus = [torch.cuda.current_device() if device.index is None else device.index]
    with _seed_lock, torch.random.fork_rng(devices=gpus):
        torch.default_generator.manual_seed(seed)
        for index in gpus:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def as_tensor(array, device):
    """``array`` as a tensor on ``device``, sharing its memory where it can."""
    # torch shares memory with a writeable C-ordered numpy array; a read-only
    # one (e.g. a memmap) is copied rather than exposed to in-place ops.
    array = np.require(array, requirements=["C", "W"])
    return torch.from_numpy(array).to(device)
