"""Rule files to rule values: the strict YAML loader, the JSON Schema, the rule and action
parsers, and problem reporting at file, line and column.
"""
