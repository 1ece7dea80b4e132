"""``dlzoo-probe run_dir=RUN [ckpt_path=FILE]``: probe a trained run's representation
(see :mod:`dlzoo.run.probe`) and write ``RUN/probe.json``.
"""

from __future__ import annotations

from typing import Any

from dlzoo.run.probe import probe_run

USAGE = """
dlzoo-probe run_dir=RUN [ckpt_path=FILE]

Probe any trained run's representation (forward_features for a classifier, the latent
of an autoencoder, the embedding of a siamese net, a JEPA's target encoder): logistic
regression on the frozen features of the training split, scored on test, and k-means on
the test features, each beside the same on the pixels. Writes RUN/probe.json.
"""


def main() -> None:
    """Console script ``dlzoo-probe``."""
    from dlzoo.cli.frame import run_entry

    def action(args: dict[str, Any]) -> None:
        out = probe_run(args["run_dir"], args["ckpt_path"] or None)
        for key, value in out.items():
            print(f"{key} {value:.4f}")

    run_entry(USAGE, {"run_dir": "", "ckpt_path": ""}, {"run_dir"}, action)


if __name__ == "__main__":
    main()
