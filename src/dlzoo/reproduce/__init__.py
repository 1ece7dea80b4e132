"""``dlzoo-reproduce``: published protocols run one after another, beside the papers'
numbers (:mod:`~dlzoo.reproduce.protocols`: the table of protocols;
:mod:`~dlzoo.reproduce.runner`: running them; :mod:`~dlzoo.reproduce.table`: the
verdicts and the Markdown table)."""
