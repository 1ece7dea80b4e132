"""Composing and checking configs: the config tree's place (:mod:`~dlzoo.config.compose`),
the command line checked before Hydra runs (:mod:`~dlzoo.config.overrides`,
:mod:`~dlzoo.config.preflight`), config keys against constructors
(:mod:`~dlzoo.config.checks`), run and trial directory names, and the paths of older
run directories (:mod:`~dlzoo.config.legacy`).
"""
