"""Everything that talks to X: HTTP and OAuth, backoff, the Engagement API's planner, parser,
client and request budget, and the X API v2 client with its write limits.
"""
