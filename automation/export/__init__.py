"""Exports: the engagement of any list of posts, as the API's own sample clients give it.

``job`` runs one export (``automation metrics``): ``ownership`` splits the posts into
owned and public, the planner's fewest ``/totals`` requests are sent within the shared
per-minute budget, ``saved_parts`` keeps each answer for a day so a rerun resumes, and
``tally`` gathers values and the API's reasons for posts without them.
"""
