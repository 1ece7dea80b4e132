"""Train one experiment: ``python scripts/train.py experiment=digits_cnn [overrides]``.

The same entry point as the ``dlzoo-train`` console script.
"""

from dlzoo.cli.train import main

if __name__ == "__main__":
    main()
