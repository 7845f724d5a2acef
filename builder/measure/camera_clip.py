"""The synthetic camera clip: frames that move enough for the model to notice, written as y4m.

Chromium plays it as the camera (--use-file-for-fake-video-capture, see browser.py), so tests and
the benchmark see the same picture on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def fake_camera_frames(width: int = 320, height: int = 240, frames: int = 90) -> np.ndarray:
    """(frames, height, width, 3) uint8 RGB: a slow colour gradient with shapes sweeping across.

    Large, high-contrast shapes that move several pixels a frame, so that even the model's
    low-resolution input (a few pixels across) changes from frame to frame.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    video = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        phase = 2 * np.pi * t / frames  # the clip loops seamlessly
        rgb = np.stack([
            96 + 80 * x / width,
            64 + 96 * y / height,
            128 + 64 * np.sin(phase + x / width * np.pi),
        ], axis=-1)
        # A bright disc circling the centre, and a dark bar sweeping left to right.
        cx = width / 2 + width / 3 * np.cos(phase)
        cy = height / 2 + height / 3 * np.sin(phase)
        rgb[(x - cx) ** 2 + (y - cy) ** 2 < (height / 5) ** 2] = (250, 240, 200)
        bar_x = (t / frames) * (width + width / 4) - width / 8
        rgb[np.abs(x - bar_x) < width / 16] = (10, 20, 40)
        video[t] = np.clip(rgb, 0, 255).astype(np.uint8)
    return video


def rgb_to_yuv420(rgb: np.ndarray) -> bytes:
    """One RGB frame as planar Y, U, V (4:2:0, full-range BT.601: the 'C420jpeg' of y4m)."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128

    def subsample(plane):  # mean of each 2x2 block: chroma sits between the luma samples (jpeg)
        h, w = plane.shape
        return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [luma, subsample(u), subsample(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: Path, frames, *, fps: int = 30) -> Path:
    """Write (n, height, width, 3) uint8 RGB frames as a y4m file for --use-file-for-fake-video-capture."""
    frames = np.asarray(frames)
    height, width = frames.shape[1:3]
    if width % 2 or height % 2:
        raise ValueError(f"y4m 4:2:0 needs even sizes, got {width}x{height}")
    path = Path(path)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(rgb_to_yuv420(np.ascontiguousarray(frame)))
    return path


def write_fake_camera_y4m(path: Path, *, width: int = 320, height: int = 240, fps: int = 30,
                          frames: int = 90) -> Path:
    """Write the fake camera clip as a y4m file for --use-file-for-fake-video-capture."""
    return write_y4m(path, fake_camera_frames(width, height, frames), fps=fps)
