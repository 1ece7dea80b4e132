"""Text classification data (imported from the submodules, so that runs without text
never load the tokenizers library): :mod:`~dlzoo.data.text.datamodule`,
:mod:`~dlzoo.data.text.folder` (BBC News), :mod:`~dlzoo.data.text.csv_files`, the
tokenizer, the preprocessing and the TF-IDF baseline.
"""
