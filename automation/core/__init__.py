"""The pure core: rule model, conditions, evaluation, firing policies, windows, templates,
action payloads and the plain records the store keeps.

Standard library only: no clock, no randomness, no I/O. Everything a decision needs is passed
in, so every module here is a function of its arguments.
"""
