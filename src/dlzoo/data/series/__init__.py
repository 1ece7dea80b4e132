"""Series data: windowed forecasting (:mod:`~dlzoo.data.series.windowed`, the packaged
series in :mod:`~dlzoo.data.series.packaged`, a user's CSV in
:mod:`~dlzoo.data.series.csv_files`) and UCR / UEA sequence classification
(:mod:`~dlzoo.data.series.ucr`).
"""
