"""The config file (``automation.yaml``): its model, its loader, ``${NAME}`` resolution and
the ``Secret`` wrapper that keeps credentials out of logs.
"""
