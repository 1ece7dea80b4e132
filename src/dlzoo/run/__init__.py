"""A run as an artefact: build (config -> datamodule, net, task, callbacks, loggers,
Trainer), the pipeline (fit, score, report), transfer, cross-validation, the run
directory's files and the run rebuilt from them, the runs table, baselines and
threads. The console scripts in :mod:`dlzoo.cli` call into here.
"""
