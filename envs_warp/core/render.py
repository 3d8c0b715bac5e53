"""Rendering helpers shared by worlds: a metric canvas over PIL and frame writers (PNG, GIF, MP4)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

Color = tuple[int, int, int]


class Canvas:
    """A PIL image addressed in world metres, y up, with a fixed pixels-per-metre scale."""

    def __init__(self, width_m: float, height_m: float, px_per_m: float = 40.0, background: Color = (255, 255, 255)):
        self.scale = px_per_m
        self.height_m = height_m
        self.image = Image.new("RGB", (max(1, round(width_m * px_per_m)), max(1, round(height_m * px_per_m))), background)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Pixel coordinates of a world point [m]."""
        return x * self.scale, (self.height_m - y) * self.scale

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Color, outline: Color | None = None) -> None:
        """Axis-aligned rectangle between two world corners [m]."""
        (a, b), (c, d) = self.px(x0, y1), self.px(x1, y0)
        self.draw.rectangle([a, b, c - 1, d - 1], fill=fill, outline=outline)

    def polygon(self, points: np.ndarray, fill: Color | None, outline: Color | None = None, width: int = 1) -> None:
        """Closed polygon through world points ``[K, 2]`` [m]."""
        pts = [self.px(float(x), float(y)) for x, y in points]
        self.draw.polygon(pts, fill=fill, outline=outline, width=width)

    def circle(self, x: float, y: float, r: float, fill: Color | None, outline: Color | None = None, width: int = 1) -> None:
        """Circle of radius ``r`` [m] centred at a world point."""
        cx, cy = self.px(x, y)
        rr = r * self.scale
        self.draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=fill, outline=outline, width=width)

    def line(self, x0: float, y0: float, x1: float, y1: float, fill: Color, width: int = 1) -> None:
        """Segment between two world points [m]."""
        self.draw.line([self.px(x0, y0), self.px(x1, y1)], fill=fill, width=width)

    def to_array(self) -> np.ndarray:
        """The picture as ``[H, W, 3]`` uint8."""
        return np.asarray(self.image)


def save_png(frame: np.ndarray, path: str | Path) -> Path:
    """Write one ``[H, W, 3]`` uint8 frame as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame).save(path)
    return path


def save_video(frames: Sequence[np.ndarray], path: str | Path, fps: int = 10) -> Path:
    """Write frames as an animated GIF (``.gif``) or an H.264 MP4 (``.mp4``, needs imageio-ffmpeg)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not frames:
        raise ValueError("save_video needs at least one frame")
    if path.suffix == ".gif":
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, round(1000 / fps)), loop=0)
    elif path.suffix == ".mp4":
        import imageio.v2 as imageio

        # H.264 wants even sizes: pad by at most one pixel.
        h, w = frames[0].shape[:2]
        pad = ((0, h % 2), (0, w % 2), (0, 0))
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
            for f in frames:
                writer.append_data(np.pad(f, pad, mode="edge"))
    else:
        raise ValueError(f"{path}: videos are written as .gif or .mp4")
    return path
