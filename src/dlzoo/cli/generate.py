"""``dlzoo-generate run_dir=RUN``: a trained decoder as a generator of images.

An autoencoder run's decoder turns latent points into images: points drawn from the
prior N(0, I) of a variational run, or given points, e.g. the ``z_0 ..`` columns that
``dlzoo-predict`` wrote for some images (edit them, interpolate between two rows, and
decode). The images are written as PNG files in the data's pixel scale.
"""

from __future__ import annotations

from typing import Any

from dlzoo.errors import ConfigError
from dlzoo.run.generate import generate

USAGE = """
dlzoo-generate run_dir=RUN [latents=FILE.csv] [count=16] [seed=0] [output=DIR]

Decode images with a trained autoencoder run: `count` points from the prior N(0, I)
(variational runs), or every row of a CSV of latent points (the z_0.. columns that
dlzoo-predict writes; other columns are ignored). Writes DIR/0000.png ... (default
RUN/generated/).
"""


DEFAULTS: dict[str, Any] = {"run_dir": "", "latents": "", "count": "16", "seed": "0", "output": ""}


def main() -> None:
    """Console script ``dlzoo-generate``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        for key in ("count", "seed"):
            if not str(args[key]).isdigit():
                raise ConfigError(f"{key}={args[key]} must be a non-negative integer")
        paths = generate(
            args["run_dir"], args["latents"], int(args["count"]), int(args["seed"]), args["output"]
        )
        print(f"generated: {len(paths)} images in {paths[0].parent if paths else '-'}")

    run_entry(USAGE, DEFAULTS, {"run_dir"}, action)


if __name__ == "__main__":
    main()
