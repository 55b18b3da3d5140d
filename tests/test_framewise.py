"""framewise.per_frame gives each frame's own result, bit for bit, for the operations the metrics batch."""
import cv2
import numpy as np
import pytest

from physics_evals.framewise import CN_MAX, per_frame

OPS = {
    "gaussian": lambda f: cv2.GaussianBlur(f, (0, 0), 1.3),
    "gaussian5": lambda f: cv2.GaussianBlur(f, (5, 5), 0),
    "nearest_x4": lambda f: cv2.resize(f, (f.shape[1] * 4, f.shape[0] * 4), interpolation=cv2.INTER_NEAREST),
    "open": lambda f: cv2.morphologyEx(f, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)),
    "erode": lambda f: cv2.erode(f, np.ones((3, 3), np.uint8)),
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", [(1, 17, 63), (7, 40, 48), (2 * CN_MAX + 5, 9, 11), (5, 17, 63, 3), (3, 64, 64, 3)])
def test_per_frame_is_each_frames_own_result(op, shape):
    rng = np.random.default_rng(len(shape) * 1000 + shape[0])
    frames = rng.integers(0, 256, shape, dtype=np.uint8)
    frames[:, : shape[1] // 2] //= 8  # smooth and sharp parts, so the filters round both ways
    want = np.stack([OPS[op](np.ascontiguousarray(f)) for f in frames])
    got = per_frame(OPS[op], frames)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_bool_masks_go_through_as_bool():
    rng = np.random.default_rng(1)
    masks = rng.random((6, 20, 30)) > 0.6
    got = per_frame(OPS["erode"], masks)
    want = np.stack([cv2.erode(m.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) for m in masks])
    assert got.dtype == bool and np.array_equal(got, want) and want.any() and not want.all()
