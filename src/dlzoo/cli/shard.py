"""Entry point: ``dlzoo-shard``, any dataset into compressed tar shards for streaming.

The data config is composed as ``dlzoo-train`` composes it (``data=NAME`` and
``data.KEY=VALUE`` overrides, checked the same way), its datamodule's splits are
written by :func:`dlzoo.data.streaming.write.write_dataset`, and the run then trains
on them with ``data=streaming data.root=OUT``. Bad input is one ``error:`` line on
stderr and exit status 2.
"""

from __future__ import annotations

from typing import Any

from dlzoo.config.overrides import data_config
from dlzoo.errors import ConfigError

USAGE = """
dlzoo-shard data=NAME [data.KEY=VALUE ...] out=DIR [samples_per_shard=1000]
            [compress=true] [overwrite=false]

Write every split (train / val / test) of a dataset into compressed tar shards
(DIR/train-000000.tar.gz, ...) and DIR/index.json (per split: samples, shards and
their SHA-256; the samples' fields; the data's shape facts and class names), for
`dlzoo-train data=streaming data.root=DIR`. Any dlzoo dataset works:
  dlzoo-shard data=mnist out=shards/mnist
  dlzoo-shard data=image_folder data.root=photos data.image_size=[64,64] out=shards/photos
  dlzoo-shard data=series_csv data.path=big.csv data.value_columns=[load] out=shards/load
Image folders are read one file at a time and CSV series in chunks, never whole.
out may be a `pipe:` command with {name} for the file name, to write to object
storage through its client, e.g. out='pipe:aws s3 cp - s3://bucket/mnist/{name}'.
A non-empty DIR is refused unless overwrite=true.
"""


OWN = {"out": "", "samples_per_shard": "1000", "compress": True, "overwrite": False}


def split_argv(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """This command's own ``key=value`` arguments, checked, and the config overrides.

    Raises:
        ConfigError: a bad argument, no ``out=``, or no ``data=``.
    """
    from dlzoo.cli.frame import parse_args

    own = [a for a in argv if a.partition("=")[0] in OWN]
    overrides = [a for a in argv if a not in own]
    args = parse_args(own, OWN, {"out"})
    if not any(o.partition("=")[0].lstrip("+") == "data" for o in overrides):
        raise ConfigError("data=NAME is required (e.g. data=mnist); see dlzoo-shard --help")
    try:
        args["samples_per_shard"] = int(args["samples_per_shard"])
    except ValueError:
        raise ConfigError(
            f"samples_per_shard={args['samples_per_shard']} must be a positive integer"
        ) from None
    return args, overrides


def shard(argv: list[str]) -> dict[str, Any]:
    """``dlzoo-shard`` on ``argv``; returns the index written."""
    from dlzoo.data.streaming.write import write_dataset

    args, overrides = split_argv(argv)
    cfg = data_config(overrides)
    return write_dataset(
        cfg, args["out"], args["samples_per_shard"], args["compress"], args["overwrite"]
    )


def _shard_and_report(argv: list[str]) -> None:
    """:func:`shard`, then one line saying what was written where."""
    index = shard(argv)
    splits = index["splits"]
    shards = sum(len(s["shards"]) for s in splits.values())
    counts = ", ".join(f"{stage} {split['samples']}" for stage, split in splits.items())
    out = argv[[a.partition("=")[0] for a in argv].index("out")].partition("=")[2]
    print(f"wrote {index['name']}: {shards} shards ({counts} samples) and index.json to {out}")


def main() -> None:
    """Console script ``dlzoo-shard``."""
    from dlzoo.cli.frame import run_command

    run_command(USAGE, _shard_and_report, needs_args=True)


if __name__ == "__main__":
    main()
