"""A picture-decoding worker process: ``python -m netcore.data.folder_worker``.

Reads one JSON line with the recipe ({"size": [H, W], "mode": ..., "fit": ...}), then one JSON
line per task (a list of file paths); answers each task with a frame: 8 bytes of header length,
a JSON header ({"ok": [...], "colour": bool, "errors": [[i, reason], ...], "shape": [...]}) and
the raw uint8 pixels. No pickle crosses the pipe, and the worker never imports the parent's main
module (which multiprocessing's spawn and forkserver methods do, running an unguarded script
again in every worker).
"""

from __future__ import annotations

import json
import sys

from netcore.data.images import DecodedChunk, decode_files


def encode(chunk: DecodedChunk) -> bytes:
    header = {
        "ok": chunk.ok.tolist(),
        "colour": bool(chunk.colour),
        "errors": chunk.errors,
        "shape": list(chunk.images.shape),
    }
    text = json.dumps(header).encode("utf-8")
    return len(text).to_bytes(8, "little") + text + chunk.images.tobytes()


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    recipe = json.loads(stdin.readline())
    size, mode, fit = tuple(recipe["size"]), recipe["mode"], recipe["fit"]
    for line in stdin:
        stdout.write(encode(decode_files(json.loads(line), size, mode, fit)))
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
