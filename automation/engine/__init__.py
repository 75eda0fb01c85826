"""One polling cycle and what it drives: the running rule set, the cycle's steps, the outbox
dispatcher, webhooks, and the events the engine reports.
"""
