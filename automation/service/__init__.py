"""Running the engine for months: the loop, signals and reloads, sd_notify, the instance lock,
logging, and assembling a runtime from a config.
"""
