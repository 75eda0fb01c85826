"""What the simulated accounts write about: the topics and tags of generated posts."""

__all__ = ["TAGS", "TOPICS"]

TOPICS = (
    "the new dashboard",
    "our spring release",
    "faster exports",
    "dark mode",
    "the API changelog",
    "team offsites",
    "customer stories",
    "the roadmap",
)
TAGS = ("launch", "product", "devs", "community", "tips")
