"""The console scripts, and only them: each parses its arguments, calls one library
function and prints; bad input is one ``error:`` line and exit status 2
(:mod:`~dlzoo.cli.frame`). The library never imports this package.
"""
