"""The pure core: rule model, conditions, evaluation, firing policies, windows, templates,
action payloads, the plain records the store keeps, and the cycle's pure steps (which posts
to look for, the fetch plan, the facts, the decisions).

Standard library only: no clock, no randomness, no I/O. Everything a decision needs is passed
in, so every module here is a function of its arguments.
"""
