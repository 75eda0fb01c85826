"""Exports: the engagement of any list of posts, as the API's own sample clients give it.

``job`` runs one export (``automation metrics``): ``ownership`` splits the posts into
owned and public; current totals come from the planner's fewest ``/totals`` requests,
sent within the shared per-minute budget, with ``saved_parts`` keeping each answer for a
day so a rerun resumes; ``period_sums`` sums owned posts over a period from the stored
hourly history, filled from ``/historical``; ``tally`` gathers the values and the API's
reasons for posts without them.
"""
