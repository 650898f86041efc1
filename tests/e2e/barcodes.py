"""Barcodes for the browser tests, written by zxing-cpp: a PNG "photo" of a label, and a
Y4M video for Chromium's fake camera (--use-file-for-fake-video-capture)."""
import io
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image


def code_image(text: str, fmt: str = "Code128", module: int = 3, bar_height: int = 140) -> Image.Image:
    """Black on white, `module` px per narrowest bar; linear codes stretched to bar_height."""
    barcode = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    img = Image.fromarray(np.asarray(barcode.to_image(scale=module, add_quiet_zones=True),
                                     dtype=np.uint8))
    if img.height < bar_height and img.width > 3 * img.height:
        img = img.resize((img.width, bar_height), Image.NEAREST)
    return img


def label(texts: list[str], size=(900, 600), fmt: str = "Code128") -> Image.Image:
    """Codes one under the other on a white label, like a box label."""
    canvas = Image.new("L", size, 255)
    y = 40
    for text in texts:
        code = code_image(text, fmt)
        canvas.paste(code, ((size[0] - code.width) // 2, y))
        y += code.height + 40
    return canvas


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_y4m(path: Path, img: Image.Image, size=(640, 480), frames: int = 2) -> Path:
    """A still video of `img` centred on a light grey frame: YUV 4:2:0, grey chroma."""
    w, h = size
    frame = Image.new("L", size, 235)
    fit = img.copy()
    fit.thumbnail((w - 40, h - 40))
    frame.paste(fit, ((w - fit.width) // 2, (h - fit.height) // 2))
    y_plane = frame.tobytes()
    chroma = bytes([128]) * ((w // 2) * (h // 2))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y_plane + chroma + chroma)
    return path
